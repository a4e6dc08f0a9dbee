import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FILE_CHUNK_BYTES, FILE_WINDOW_BYTES, type FileEntry, type FileListing } from '@agentpod/contracts';
import { NODE_ID } from '../test-support/pod-fixtures.ts';
import { defaultWorkspaceOptions } from './settings.ts';
import {
  browser,
  MEMBER_TOKEN,
  startWorkspaceWorld,
  VOLUME,
  type WorkspaceWorld,
  waitFor,
} from './test-world.testing.ts';

/*
 * The file routes through the gateway to a stand-in agent working in a temporary directory: small operations,
 * streamed downloads and uploads with their credit windows, versions (ETag / If-Match), and who may touch what.
 */

const FILES = '/api/v1/tenants/acme/pods/web/files';
const NODE_FILES = `/api/v1/nodes/${NODE_ID}/files`;
const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const member = { authorization: `Bearer ${MEMBER_TOKEN}` };
const octets = { ...member, 'content-type': 'application/octet-stream' };
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('file routes: relayed to the agent, streamed both ways', () => {
  let world: WorkspaceWorld;
  let url: (path: string) => string;
  const volume = () => join(world.root, 'volumes', VOLUME);

  before(async () => {
    world = await startWorkspaceWorld();
    url = (path) => `${world.address}${path}`;
  });
  after(async () => {
    await world?.close();
  });

  test('list, mkdir, move, chmod and delete in the pod’s volume', async () => {
    await writeFile(join(volume(), 'a.txt'), 'alpha');
    const mkdir = await world.app.inject({
      method: 'POST',
      url: `${FILES}/mkdir`,
      headers: browser('member', true),
      payload: { path: '/dir/sub', parents: true },
    });
    assert.equal(mkdir.statusCode, 201, mkdir.body);
    assert.equal((mkdir.json() as FileEntry).type, 'dir');

    const listed = await world.app.inject({ method: 'GET', url: `${FILES}?path=/`, headers: browser('member') });
    assert.equal(listed.statusCode, 200, listed.body);
    const listing = listed.json() as FileListing;
    assert.deepEqual(
      listing.entries.map((e) => [e.name, e.type]),
      [
        ['a.txt', 'file'],
        ['dir', 'dir'],
      ],
    );

    const moved = await world.app.inject({
      method: 'POST',
      url: `${FILES}/move`,
      headers: member,
      payload: { from: '/a.txt', to: '/dir/b.txt' },
    });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal((moved.json() as FileEntry).path, '/dir/b.txt');

    const chmod = await world.app.inject({
      method: 'POST',
      url: `${FILES}/chmod`,
      headers: member,
      payload: { path: '/dir/b.txt', mode: '600' },
    });
    assert.equal((chmod.json() as FileEntry).mode, '600');
    assert.equal((await stat(join(volume(), 'dir', 'b.txt'))).mode & 0o777, 0o600);

    const refused = await world.app.inject({ method: 'DELETE', url: `${FILES}?path=/dir`, headers: member });
    assert.equal(refused.statusCode, 409, 'a non-empty directory needs recursive=true');
    const removed = await world.app.inject({
      method: 'DELETE',
      url: `${FILES}?path=/dir&recursive=true`,
      headers: member,
    });
    assert.equal(removed.statusCode, 204, removed.body);
    assert.deepEqual(await readdir(volume()), []);
  });

  test('who may: another tenant’s member 404 (list and download), a viewer 403, a node for its owner only', async () => {
    for (const path of [`${FILES}?path=/`, `${FILES}/content?path=/x`]) {
      const outsider = await world.app.inject({ method: 'GET', url: path, headers: browser('outsider') });
      assert.equal(outsider.statusCode, 404, path);
      const viewer = await world.app.inject({ method: 'GET', url: path, headers: browser('viewer') });
      assert.equal(viewer.statusCode, 403, path);
    }
    const upload = await world.app.inject({
      method: 'POST',
      url: `${FILES}/content?path=/x`,
      headers: { ...browser('outsider', true), 'content-type': 'application/octet-stream' },
      payload: Buffer.from('nope'),
    });
    assert.equal(upload.statusCode, 404);
    const noCsrf = await world.app.inject({
      method: 'POST',
      url: `${FILES}/content?path=/x`,
      headers: { ...browser('member'), 'content-type': 'application/octet-stream' },
      payload: Buffer.from('nope'),
    });
    assert.equal(noCsrf.statusCode, 403, 'a cookie upload needs the CSRF header');
    assert.deepEqual(await readdir(volume()), [], 'nothing was written');

    assert.equal(
      (await world.app.inject({ method: 'GET', url: `${NODE_FILES}?path=/`, headers: browser('admin') })).statusCode,
      200,
    );
    assert.equal(
      (await world.app.inject({ method: 'GET', url: `${NODE_FILES}?path=/`, headers: browser('owner') })).statusCode,
      200,
    );
    for (const [who, status] of [
      ['member', 403],
      ['outsider', 404],
    ] as const) {
      const answer = await world.app.inject({ method: 'GET', url: `${NODE_FILES}?path=/`, headers: browser(who) });
      assert.equal(answer.statusCode, status, who);
    }
    const novol = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/novol/files',
      headers: member,
    });
    assert.equal(novol.statusCode, 404);
    assert.match(novol.json().error.message, /has no volume/);
    const lost = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/lost/files',
      headers: member,
    });
    assert.equal(lost.statusCode, 503);
    assert.match(lost.json().error.message, /node nod_b2\S* is unreachable/);
  });

  test('20 MB up and down, byte-identical; neither direction has more than a window in flight', async () => {
    const content = randomBytes(20 * MiB);
    // Memory still held while bytes flow (two collections, with a turn between for ArrayBuffers freed lazily):
    // what the chain buffers, not garbage waiting to be collected.
    const held = async () => {
      for (let i = 0; i < 2; i++) {
        collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const usage = process.memoryUsage();
      return usage.arrayBuffers + usage.heapUsed;
    };
    const baseline = await held();
    const peaks: Record<string, number> = { upload: 0, download: 0 };
    let phase = 'upload';
    const sampler = setInterval(async () => {
      const now = (await held()) - baseline;
      peaks[phase] = Math.max(peaks[phase] ?? 0, now / MiB);
    }, 200);
    try {
      // A client that writes as its socket drains (fetch would queue the whole body in its socket at once).
      const uploaded = await postStreaming(url(`${FILES}/content?path=/big.bin&mode=640`), octets, content);
      assert.equal(uploaded.status, 201, uploaded.body);
      const entry = JSON.parse(uploaded.body) as FileEntry;
      assert.equal(entry.size, content.length);
      assert.equal(entry.mode, '640');

      phase = 'download';
      const downloaded = await fetch(url(`${FILES}/content?path=/big.bin`), { headers: member });
      assert.equal(downloaded.status, 200);
      assert.equal(downloaded.headers.get('content-type'), 'application/octet-stream');
      assert.equal(downloaded.headers.get('content-length'), String(content.length));
      assert.equal(downloaded.headers.get('etag'), `"${entry.version}"`);
      assert.equal(downloaded.headers.get('content-disposition'), "attachment; filename*=UTF-8''big.bin");
      const hash = createHash('sha256');
      for await (const chunk of downloaded.body as AsyncIterable<Uint8Array>) hash.update(chunk);
      assert.equal(hash.digest('hex'), sha256(content));
    } finally {
      clearInterval(sampler);
    }
    assert.equal(sha256(await readFile(join(volume(), 'big.bin'))), sha256(content), 'the file on the node');
    const { maxDownloadUnacked, maxUploadUnacked } = world.agent.files;
    assert.ok(maxDownloadUnacked <= FILE_WINDOW_BYTES + FILE_CHUNK_BYTES, `download in flight ${maxDownloadUnacked}`);
    assert.ok(maxUploadUnacked <= FILE_WINDOW_BYTES + FILE_CHUNK_BYTES, `upload in flight ${maxUploadUnacked}`);
    const grew = Math.max(peaks.upload ?? 0, peaks.download ?? 0);
    console.log(`# 20 MB up and down: at most ${grew.toFixed(1)} MiB more held while transferring`, peaks);
    // The whole process (client, gateway, stand-in agent, NATS client) holds about the same for 20 or 80 MiB (about
    // 12 to 20 MiB measured); holding the file whole on either side would be its size twice over (bytes + base64).
    assert.ok(grew < 40, `the transfer held ${grew.toFixed(1)} MiB: as much as the file (buffered whole?)`);
  });

  test('a slow reader: the agent stops at the window until the client reads', async () => {
    await writeFile(join(volume(), 'slow.bin'), randomBytes(12 * MiB));
    world.agent.files.maxDownloadUnacked = 0;
    const response = await fetch(url(`${FILES}/content?path=/slow.bin`), { headers: member });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.length > 0);
    // The client reads nothing more for a while: the agent must hold at one window (plus the chunk it was on).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(world.agent.files.maxDownloadUnacked <= FILE_WINDOW_BYTES + FILE_CHUNK_BYTES);
    let total = first.value.length;
    for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.length;
    assert.equal(total, 12 * MiB);
  });

  test('If-Match: the version must still be the file’s, else 409 and nothing changes', async () => {
    await writeFile(join(volume(), 'edit.txt'), 'version one');
    const opened = await fetch(url(`${FILES}/content?path=/edit.txt`), { headers: member });
    const etag = opened.headers.get('etag') ?? '';
    assert.equal(await opened.text(), 'version one');
    const save = (body: string, ifMatch: string) =>
      fetch(url(`${FILES}/content?path=/edit.txt`), {
        method: 'POST',
        headers: { ...octets, 'if-match': ifMatch },
        body,
      });

    const saved = await save('version two', etag);
    assert.equal(saved.status, 201);
    const stale = await save('version three', etag);
    assert.equal(stale.status, 409);
    assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'conflict');
    assert.equal(await readFile(join(volume(), 'edit.txt'), 'utf8'), 'version two');
    assert.equal((await save('x', '*')).status, 400);

    const exists = await fetch(url(`${FILES}/content?path=/edit.txt&overwrite=false`), {
      method: 'POST',
      headers: octets,
      body: 'again',
    });
    assert.equal(exists.status, 409);
  });

  test('bad requests: a directory, a missing file, a relative path, JSON to the upload, octets elsewhere', async () => {
    await writeFile(join(volume(), 'present.txt'), 'here');
    const closedBefore = world.agent.terminals.length;
    const head = await world.app.inject({ method: 'HEAD', url: `${FILES}/content?path=/present.txt`, headers: member });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '4');
    assert.equal(head.body, '');
    assert.equal(world.agent.terminals.length, closedBefore);
    const directory = await world.app.inject({ method: 'GET', url: `${FILES}/content?path=/`, headers: member });
    assert.equal(directory.statusCode, 400);
    const missing = await world.app.inject({ method: 'GET', url: `${FILES}/content?path=/nope`, headers: member });
    assert.equal(missing.statusCode, 404);
    const relative = await world.app.inject({ method: 'GET', url: `${FILES}?path=etc`, headers: member });
    assert.equal(relative.statusCode, 400);
    const json = await world.app.inject({
      method: 'POST',
      url: `${FILES}/content?path=/j.txt`,
      headers: member,
      payload: { not: 'a file' },
    });
    assert.equal(json.statusCode, 400);
    const elsewhere = await world.app.inject({
      method: 'POST',
      url: `${FILES}/mkdir`,
      headers: { ...member, 'content-type': 'application/octet-stream' },
      payload: Buffer.from('{"path":"/x"}'),
    });
    assert.equal(elsewhere.statusCode, 415);
    const empty = await world.app.inject({ method: 'POST', url: `${FILES}/content?path=/empty.txt`, headers: member });
    assert.equal(empty.statusCode, 201, empty.body);
    assert.equal((await stat(join(volume(), 'empty.txt'))).size, 0);
  });

  test('the upload limit: 413 by Content-Length, and by counting a body sent without one', async () => {
    const small = world.gateway({ workspace: { ...defaultWorkspaceOptions(), maxUploadBytes: 1000 } });
    const address = await small.listen({ host: '127.0.0.1', port: 0 });
    try {
      const declared = await fetch(`${address}${FILES}/content?path=/too-big`, {
        method: 'POST',
        headers: octets,
        body: new Uint8Array(1001),
      });
      assert.equal(declared.status, 413);
      const closedBefore = world.agent.files.uploadsClosed;
      const streamed = await fetch(`${address}${FILES}/content?path=/too-big`, {
        method: 'POST',
        headers: octets,
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(600));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 413);
      await waitFor(() => world.agent.files.uploadsClosed > closedBefore, 'the agent told to close');
      await nothingNamed(volume(), 'too-big');
    } finally {
      await small.close();
    }
  });

  test('a client that goes mid-upload: the agent is told to close and keeps nothing', async () => {
    const closedBefore = world.agent.files.uploadsClosed;
    const abort = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= 2 * MiB) {
          abort.abort();
          return;
        }
        sent += 256 * 1024;
        controller.enqueue(new Uint8Array(256 * 1024));
      },
    });
    await fetch(url(`${FILES}/content?path=/partial.bin`), {
      method: 'POST',
      headers: octets,
      body,
      duplex: 'half',
      signal: abort.signal,
    } as RequestInit).catch(() => undefined);
    await waitFor(() => world.agent.files.uploadsClosed > closedBefore, 'the agent told to close');
    await nothingNamed(volume(), 'partial.bin');
  });
});

/** Waits until no file in `dir` starts with `prefix` (the agent removes a temporary file asynchronously). */
async function nothingNamed(dir: string, prefix: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!(await readdir(dir)).some((name) => name.startsWith(prefix))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`a file named ${prefix}… was kept`);
}

/** POSTs `content` in 64 KiB writes, each after the socket drained; the status and the body of the answer. */
function postStreaming(
  target: string,
  headers: Record<string, string>,
  content: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(content.length) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    outgoing.on('error', reject);
    let offset = 0;
    const write = () => {
      while (offset < content.length) {
        const chunk = content.subarray(offset, offset + 64 * 1024);
        offset += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', write);
          return;
        }
      }
      outgoing.end();
    };
    write();
  });
}
