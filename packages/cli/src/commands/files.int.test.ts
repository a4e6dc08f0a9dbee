import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FileEntry, FileListing } from '@agentpod/contracts';
import { runCli, useFakeGateway } from '../test/fake-gateway.ts';

/*
 * `files ls|get|put|rm|mkdir|mv|chmod` against a stand-in gateway: the request each sends, streamed bodies both
 * ways (bytes intact, content-length, If-Match), what lands on disk when a download breaks (nothing), exit codes.
 */

const BASE = '/api/v1/tenants/acme/pods/web/files';

const entry = (path: string, extra: Partial<FileEntry> = {}): FileEntry => ({
  name: path.split('/').pop() ?? '',
  path,
  type: 'file',
  size: 12,
  mode: '644',
  modifiedAt: '2025-01-02T03:04:05.000Z',
  version: '1735787045000000000-12',
  ...extra,
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('agentpod files against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentpod-files-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('ls prints the entries as a table, or the listing as JSON; no path means the top', async () => {
    const listing: FileListing = {
      path: '/data',
      entries: [
        entry('/data/conf', { type: 'dir', size: 4096, mode: '755' }),
        entry('/data/app.json', { size: 1536 }),
        entry('/data/latest', { type: 'symlink', target: 'app.json' }),
      ],
    };
    suite.gateway.on(`GET ${BASE}`, () => ({ status: 200, body: listing }));
    const human = await cli('files', 'ls', 'acme/web:/data');
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, { path: '/data' });
    assert.match(human.stdout, /^TYPE +MODE +SIZE +MODIFIED +NAME\n/);
    assert.match(human.stdout, /dir +755 +- +2025-01-02T03:04:05Z +conf\/\n/);
    assert.match(human.stdout, /file +644 +1\.5 KiB .* app\.json\n/);
    assert.match(human.stdout, /latest -> app\.json\n/);
    const json = await cli('files', 'ls', 'acme/web', '--json');
    assert.deepEqual(JSON.parse(json.stdout), listing);
    assert.deepEqual(suite.gateway.requests[1]?.query, { path: '/' });
    suite.gateway.on(`GET ${BASE}`, () => ({ status: 200, body: { ...listing, truncated: true } }));
    const truncated = await cli('files', 'ls', 'acme/web:/data');
    assert.match(truncated.stdout, /\(listing truncated: the directory has more entries\)\n$/);
  });

  test('get streams the file to a local path, byte for byte; - writes it to stdout', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 7);
    suite.gateway.on(`GET ${BASE}/content`, (request, response) => {
      const body = request.query.path === '/notes.txt' ? Buffer.from('plain text\n') : content;
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        etag: '"v42"',
      });
      // In pieces, as a stream arrives.
      for (let at = 0; at < body.length; at += 65_536) response.write(body.subarray(at, at + 65_536));
      response.end();
    });
    const target = join(dir, 'blob.bin');
    const result = await cli('files', 'get', 'acme/web:/data/blob.bin', target, '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sha(await readFile(target)), sha(content));
    assert.deepEqual(JSON.parse(result.stdout), {
      from: 'acme/web:/data/blob.bin',
      to: target,
      bytes: content.length,
      version: 'v42',
    });
    // Into a directory: the remote name.
    const into = await cli('files', 'get', 'acme/web:/notes.txt', dir);
    assert.equal(into.code, 0, into.stderr);
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'plain text\n');
    const piped = await cli('files', 'get', 'acme/web:/notes.txt', '-');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'plain text\n');
    assert.equal(piped.stderr, '', 'no progress line when stderr is not a terminal');
  });

  test('a download that breaks half way leaves no file, not even a partial one', async () => {
    suite.gateway.on(`GET ${BASE}/content`, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000' });
      response.write(Buffer.alloc(100_000));
      setTimeout(() => response.destroy(), 50);
    });
    const empty = await mkdtemp(join(dir, 'broken-'));
    const result = await cli('files', 'get', 'acme/web:/big', join(empty, 'big'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^agentpod: the download (broke|ended after)/);
    assert.deepEqual(await readdir(empty), []);
  });

  test('get of a missing file: not found, exit 4', async () => {
    suite.gateway.on(`GET ${BASE}/content`, () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'no file /nope' } },
    }));
    const result = await cli('files', 'get', 'acme/web:/nope', join(dir, 'nope'));
    assert.equal(result.code, 4);
    assert.equal(result.stderr, 'agentpod: no file /nope\n');
  });

  test('put streams a local file with its length, If-Match from --if-version, mode and overwrite', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const local = join(dir, 'upload.bin');
    await writeFile(local, content);
    suite.gateway.on(`POST ${BASE}/content`, (request) => ({
      status: 201,
      body: entry(request.query.path ?? '', { size: request.raw.length, version: 'v2' }),
    }));
    const result = await cli('files', 'put', local, 'acme/web:/data/', '--if-version', 'v1', '--mode', '600', '--json');
    assert.equal(result.code, 0, result.stderr);
    const request = suite.gateway.requests[0];
    assert.deepEqual(request?.query, { path: '/data/upload.bin', mode: '600', overwrite: 'true' });
    assert.equal(request?.headers['content-type'], 'application/octet-stream');
    assert.equal(request?.headers['content-length'], String(content.length));
    assert.equal(request?.headers['if-match'], '"v1"');
    assert.equal(sha(request?.raw ?? Buffer.alloc(0)), sha(content));
    assert.equal(JSON.parse(result.stdout).version, 'v2');
  });

  test('put - reads stdin (chunked, no length); a changed version is a conflict (exit 1)', async () => {
    suite.gateway.on(`POST ${BASE}/content`, (request) => ({
      status: 201,
      body: entry(request.query.path ?? '', { size: request.raw.length }),
    }));
    const result = await runCli(['files', 'put', '-', 'acme/web:/etc/app.conf', '--no-overwrite'], {
      env: suite.env,
      stdin: 'key = value\n',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^uploaded 12 B to acme\/web:\/etc\/app\.conf \(version /);
    const request = suite.gateway.requests[0];
    assert.equal(request?.raw.toString(), 'key = value\n');
    assert.equal(request?.query.overwrite, 'false');
    assert.equal(request?.headers['content-length'], undefined);

    suite.gateway.on(`POST ${BASE}/content`, () => ({
      status: 409,
      body: { error: { code: 'conflict', message: '/etc/app.conf changed since version v1' } },
    }));
    const conflict = await runCli(['files', 'put', '-', 'acme/web:/etc/app.conf', '--if-version', 'v1'], {
      env: suite.env,
      stdin: 'x',
    });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /changed since version v1/);
  });

  test('rm, mkdir, mv and chmod send what the routes take', async () => {
    suite.gateway.on(`DELETE ${BASE}`, () => ({ status: 204 }));
    suite.gateway.on(`POST ${BASE}/mkdir`, () => ({ status: 201, body: entry('/a/b', { type: 'dir' }) }));
    suite.gateway.on(`POST ${BASE}/move`, () => ({ status: 200, body: entry('/new') }));
    suite.gateway.on(`POST ${BASE}/chmod`, () => ({ status: 200, body: entry('/run.sh', { mode: '755' }) }));
    const ok = async (...args: string[]) => {
      const result = await cli(...args);
      assert.equal(result.code, 0, result.stderr);
      return suite.gateway.requests.at(-1);
    };
    assert.deepEqual((await ok('files', 'rm', '-r', 'acme/web:/cache'))?.query, { path: '/cache', recursive: 'true' });
    assert.deepEqual((await ok('files', 'rm', 'acme/web:tmp/x'))?.query, { path: '/tmp/x', recursive: 'false' });
    assert.deepEqual((await ok('files', 'mkdir', '-p', 'acme/web:/a/b'))?.body, { path: '/a/b', parents: true });
    assert.deepEqual((await ok('files', 'mv', 'acme/web:/old', '/new'))?.body, {
      from: '/old',
      to: '/new',
      overwrite: false,
    });
    assert.deepEqual((await ok('files', 'mv', '-f', 'acme/web:/old', 'acme/web:/new'))?.body, {
      from: '/old',
      to: '/new',
      overwrite: true,
    });
    assert.deepEqual((await ok('files', 'chmod', '755', 'acme/web:/run.sh'))?.body, { path: '/run.sh', mode: '755' });
  });

  test('bad input fails before anything is sent (exit 2)', async () => {
    const refused = [
      ['files', 'rm', 'acme/web:/'],
      ['files', 'rm', 'acme/web'],
      ['files', 'chmod', 'u+x', 'acme/web:/run.sh'],
      ['files', 'chmod', '4755', 'acme/web:/run.sh'],
      ['files', 'mv', 'acme/web:/a', 'acme/api:/a'],
      ['files', 'ls', 'acme:/x'],
      ['files', 'get', `acme/web:/${'x'.repeat(256)}`, '-'],
      ['files', 'put', join(dir, 'does-not-exist'), 'acme/web:/x'],
      ['files', 'put', '-', 'acme/web:/dir/'],
    ];
    for (const args of refused) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^agentpod: /);
    }
    assert.deepEqual(suite.gateway.requests, []);
  });
});
