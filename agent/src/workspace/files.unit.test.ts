import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Harness, sessionId, workspaceHarness } from './testing/harness.ts';
import { buildTar } from './testing/tar-builder.ts';

/* The file operations doing their job inside a scope (the escapes are in confinement.unit.test.ts). */

let tmp: string;
let root: string;
let h: Harness;
const scope = { kind: 'volume', volume: 'agentpod-t_p' } as const;
const ops = () => h.workspace.handlers;
const code = (expected: string) => (error: Error & { code?: string }) => {
  assert.equal(error.code, expected, error.message);
  return true;
};
/** Entries of the directory on disk, without the scope's own temporary names. */
const onDisk = async (dir: string) => (await readdir(dir)).sort();

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'agentpod-files-'));
  root = join(tmp, 'root');
  await mkdir(root);
  h = workspaceHarness({ volumes: { mountpoint: async () => root }, maxListEntries: 4, keepaliveMs: 60_000 });
});

after(async () => {
  h?.workspace.sessions.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('listing and stat', () => {
  test('directories first, then names; versions are mtime-ns and size; a big directory is truncated', async () => {
    await mkdir(join(root, 'list'));
    for (const name of ['b.txt', 'a.txt']) await writeFile(join(root, 'list', name), name);
    await mkdir(join(root, 'list', 'zdir'));
    await symlink('a.txt', join(root, 'list', 'link'));
    const listing = await ops().fileList({ scope, path: '/list' });
    assert.deepEqual(
      listing.entries.map((entry) => [entry.name, entry.type, entry.path]),
      [
        ['zdir', 'dir', '/list/zdir'],
        ['a.txt', 'file', '/list/a.txt'],
        ['b.txt', 'file', '/list/b.txt'],
        ['link', 'symlink', '/list/link'],
      ],
    );
    assert.equal(listing.truncated, undefined);
    const a = listing.entries[1];
    const stats = await lstat(join(root, 'list', 'a.txt'), { bigint: true });
    assert.equal(a?.version, `${stats.mtimeNs}-${stats.size}`);
    assert.equal(a?.mode, (Number(stats.mode) & 0o7777).toString(8));
    assert.equal(listing.entries[3]?.target, 'a.txt');
    await writeFile(join(root, 'list', 'c.txt'), 'c');
    const more = await ops().fileList({ scope, path: '/list' });
    assert.equal(more.entries.length, 4);
    assert.equal(more.truncated, true);
  });

  test('stat shows a link as a link; a missing path is not_found; listing a file is invalid', async () => {
    const entry = await ops().fileStat({ scope, path: '/list/link' });
    assert.deepEqual([entry.type, entry.target], ['symlink', 'a.txt']);
    await assert.rejects(ops().fileStat({ scope, path: '/nope' }), code('not_found'));
    await assert.rejects(ops().fileList({ scope, path: '/list/a.txt' }), code('invalid'));
    const top = await ops().fileStat({ scope, path: '/' });
    assert.deepEqual([top.type, top.path], ['dir', '/']);
  });
});

describe('mkdir, move, delete, chmod', () => {
  test('mkdir: a missing parent needs parents; parents makes the chain; existing is a conflict without parents', async () => {
    await assert.rejects(ops().fileMkdir({ scope, path: '/m/a/b', parents: false }), code('not_found'));
    const made = await ops().fileMkdir({ scope, path: '/m/a/b', parents: true });
    assert.deepEqual([made.type, made.path, made.name], ['dir', '/m/a/b', 'b']);
    assert.ok((await stat(join(root, 'm', 'a', 'b'))).isDirectory());
    await assert.rejects(ops().fileMkdir({ scope, path: '/m/a', parents: false }), code('conflict'));
    assert.equal((await ops().fileMkdir({ scope, path: '/m/a', parents: true })).type, 'dir');
    await writeFile(join(root, 'm', 'file'), 'x');
    await assert.rejects(ops().fileMkdir({ scope, path: '/m/file', parents: true }), code('conflict'));
  });

  test('move: refuses to replace unless asked; replaces when asked; not into itself', async () => {
    await writeFile(join(root, 'm', 'one'), '1');
    await writeFile(join(root, 'm', 'two'), '2');
    await assert.rejects(ops().fileMove({ scope, from: '/m/one', to: '/m/two', overwrite: false }), code('conflict'));
    const moved = await ops().fileMove({ scope, from: '/m/one', to: '/m/two', overwrite: true });
    assert.equal(moved.path, '/m/two');
    assert.equal(await readFile(join(root, 'm', 'two'), 'utf8'), '1');
    await assert.rejects(ops().fileMove({ scope, from: '/m/a', to: '/m/a/b/c', overwrite: false }), code('invalid'));
    await assert.rejects(ops().fileMove({ scope, from: '/m/none', to: '/m/x', overwrite: false }), code('not_found'));
  });

  test('delete: a non-empty directory needs recursive; a missing path is not_found', async () => {
    await assert.rejects(ops().fileDelete({ scope, path: '/m/a', recursive: false }), code('conflict'));
    await ops().fileDelete({ scope, path: '/m/a', recursive: true });
    await assert.rejects(lstat(join(root, 'm', 'a')));
    await ops().fileDelete({ scope, path: '/m/two', recursive: false });
    await assert.rejects(ops().fileDelete({ scope, path: '/m/two', recursive: false }), code('not_found'));
  });

  test('chmod: a file and a setgid directory; a link inside is followed', async () => {
    await writeFile(join(root, 'm', 'mode'), 'x');
    await symlink('mode', join(root, 'm', 'mode-link'));
    const entry = await ops().fileChmod({ scope, path: '/m/mode-link', mode: '0640' });
    assert.equal((await stat(join(root, 'm', 'mode'))).mode & 0o7777, 0o640);
    assert.equal(entry.mode, '640');
    await ops().fileChmod({ scope, path: '/m', mode: '02775' });
    assert.equal((await stat(join(root, 'm'))).mode & 0o7777, 0o2775);
  });
});

describe('uploads', () => {
  test('a new file: written whole, 644, the entry in done; no temporary file left', async () => {
    await mkdir(join(root, 'up'));
    const entry = await h.upload({ scope, path: '/up/new.txt' }, Buffer.from('hello'));
    assert.deepEqual([entry.name, entry.path, entry.size, entry.mode], ['new.txt', '/up/new.txt', 5, '644']);
    assert.equal(await readFile(join(root, 'up', 'new.txt'), 'utf8'), 'hello');
    assert.deepEqual(await onDisk(join(root, 'up')), ['new.txt']);
  });

  test('versions and overwrite: a stale version or an existing file is a conflict before a byte is sent', async () => {
    const current = await ops().fileStat({ scope, path: '/up/new.txt' });
    await assert.rejects(
      h.upload({ scope, path: '/up/new.txt', ifVersion: '1-1' }, Buffer.from('x')),
      code('conflict'),
    );
    await assert.rejects(
      h.upload({ scope, path: '/up/new.txt', overwrite: false }, Buffer.from('x')),
      code('conflict'),
    );
    await assert.rejects(
      h.upload({ scope, path: '/up/gone.txt', ifVersion: current.version }, Buffer.from('x')),
      code('conflict'),
    );
    const replaced = await h.upload(
      { scope, path: '/up/new.txt', ifVersion: current.version, mode: '600' },
      Buffer.from('v2'),
    );
    assert.equal(await readFile(join(root, 'up', 'new.txt'), 'utf8'), 'v2');
    assert.equal(replaced.mode, '600');
    assert.notEqual(replaced.version, current.version);
    await assert.rejects(h.upload({ scope, path: '/up' }, Buffer.from('x')), code('conflict'));
    await assert.rejects(h.upload({ scope, path: '/up/missing/x' }, Buffer.from('x')), code('not_found'));
    assert.deepEqual(await onDisk(join(root, 'up')), ['new.txt']);
  });

  test('an announced size must be met exactly', async () => {
    await assert.rejects(h.upload({ scope, path: '/up/sized', size: 10 }, Buffer.from('short')), code('invalid'));
    await assert.rejects(h.upload({ scope, path: '/up/sized', size: 2 }, Buffer.from('longer')), code('invalid'));
    assert.deepEqual(await onDisk(join(root, 'up')), ['new.txt']);
  });

  test('close mid-way: the temporary file is removed and the target untouched', async () => {
    const id = sessionId('up');
    await ops().fileUpload({ scope, path: '/up/new.txt', sessionId: id, overwrite: true });
    h.say(id, { t: 'data', data: Buffer.from('partial').toString('base64') });
    await h.waitFor(id, (m) => m.t === 'ack');
    assert.equal((await onDisk(join(root, 'up'))).length, 2, 'the temporary file exists meanwhile');
    h.say(id, { t: 'close' });
    while (h.workspace.sessions.has(id)) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await onDisk(join(root, 'up')), ['new.txt']);
    assert.equal(await readFile(join(root, 'up', 'new.txt'), 'utf8'), 'v2');
  });

  test('a silent upload expires: error timeout, temporary file removed', async () => {
    const quick = workspaceHarness({ volumes: { mountpoint: async () => root }, keepaliveMs: 30 });
    try {
      const id = sessionId('up');
      await quick.workspace.handlers.fileUpload({ scope, path: '/up/slow', sessionId: id, overwrite: true });
      const error = await quick.waitFor(id, (m) => m.t === 'error');
      assert.equal((error.error as { code: string }).code, 'timeout');
      assert.deepEqual(await onDisk(join(root, 'up')), ['new.txt']);
    } finally {
      quick.workspace.sessions.stop();
    }
  });

  test('a tar (gzip) unpacks: files, directories, links inside, setuid stripped, owned like the directory', async () => {
    await mkdir(join(root, 'tar'));
    const archive = gzipSync(
      buildTar([
        { path: 'app/', type: 'dir' },
        { path: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o4755 },
        { path: 'app/conf/settings.json', data: '{}' },
        { path: 'app/current', type: 'symlink', linkpath: 'conf/settings.json' },
        { path: 'app/hard', type: 'hardlink', linkpath: 'app/run.sh' },
        { path: './top.txt', data: 'top' },
      ]),
    );
    const entry = await h.upload({ scope, path: '/tar', extract: 'tar' }, archive);
    assert.deepEqual([entry.type, entry.path], ['dir', '/tar']);
    assert.deepEqual(await onDisk(join(root, 'tar')), ['app', 'top.txt']);
    assert.deepEqual(await onDisk(join(root, 'tar', 'app')), ['conf', 'current', 'hard', 'run.sh']);
    assert.equal((await stat(join(root, 'tar', 'app', 'run.sh'))).mode & 0o7777, 0o755);
    assert.equal(await readlink(join(root, 'tar', 'app', 'current')), 'conf/settings.json');
    assert.equal(
      (await stat(join(root, 'tar', 'app', 'hard'))).ino,
      (await stat(join(root, 'tar', 'app', 'run.sh'))).ino,
    );
    const owner = await stat(join(root, 'tar'));
    assert.equal((await stat(join(root, 'tar', 'app', 'conf', 'settings.json'))).uid, owner.uid);
  });

  test('a tar with an existing name and overwrite false: refused, nothing kept; with overwrite, merged', async () => {
    const archive = buildTar([
      { path: 'fresh.txt', data: 'fresh' },
      { path: 'top.txt', data: 'new top' },
      { path: 'app/more.txt', data: 'more' },
    ]);
    await assert.rejects(
      h.upload({ scope, path: '/tar', extract: 'tar', overwrite: false }, archive),
      code('conflict'),
    );
    assert.deepEqual(await onDisk(join(root, 'tar')), ['app', 'top.txt']);
    await h.upload({ scope, path: '/tar', extract: 'tar', overwrite: true }, archive);
    assert.deepEqual(await onDisk(join(root, 'tar')), ['app', 'fresh.txt', 'top.txt']);
    assert.equal(await readFile(join(root, 'tar', 'top.txt'), 'utf8'), 'new top');
    assert.ok((await onDisk(join(root, 'tar', 'app'))).includes('more.txt'));
  });

  test('bytes that are not a tar: invalid, nothing kept', async () => {
    await assert.rejects(
      h.upload({ scope, path: '/tar', extract: 'tar' }, Buffer.from('not a tar at all')),
      code('invalid'),
    );
    assert.deepEqual(await onDisk(join(root, 'tar')), ['app', 'fresh.txt', 'top.txt']);
  });
});

describe('downloads', () => {
  test('the bytes of the file, then end; a directory is invalid', async () => {
    const { entry, bytes } = await h.download({ scope, path: '/up/new.txt' });
    assert.equal(bytes.toString(), 'v2');
    assert.equal(entry.size, 2);
    const empty = await h.upload({ scope, path: '/up/empty' }, Buffer.alloc(0));
    assert.equal(empty.size, 0);
    assert.equal((await h.download({ scope, path: '/up/empty' })).bytes.length, 0);
    await assert.rejects(h.download({ scope, path: '/up' }), code('invalid'));
  });
});

describe('the host scope', () => {
  test('without AGENTPOD_FILE_ROOTS it is closed and says which variable opens it', async () => {
    const closed = workspaceHarness({});
    await assert.rejects(
      closed.workspace.handlers.fileList({ scope: { kind: 'host' }, path: '/' }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'forbidden');
        assert.match(error.message, /AGENTPOD_FILE_ROOTS/);
        return true;
      },
    );
  });

  test('/ lists the roots; paths are the host paths; / itself cannot be changed', async () => {
    const host = workspaceHarness({ fileRoots: [root, join(tmp, 'missing-root')] });
    const top = await host.workspace.handlers.fileList({ scope: { kind: 'host' }, path: '/' });
    assert.deepEqual(
      top.entries.map((entry) => [entry.path, entry.type]),
      [[root, 'dir']],
    );
    const inside = await host.workspace.handlers.fileList({ scope: { kind: 'host' }, path: `${root}/up` });
    assert.ok(inside.entries.some((entry) => entry.path === `${root}/up/new.txt`));
    await assert.rejects(
      host.workspace.handlers.fileMkdir({ scope: { kind: 'host' }, path: '/', parents: true }),
      code('forbidden'),
    );
    await assert.rejects(
      host.workspace.handlers.fileDelete({ scope: { kind: 'host' }, path: root, recursive: true }),
      code('forbidden'),
    );
  });
});
