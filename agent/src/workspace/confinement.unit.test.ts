import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Harness, sessionId, workspaceHarness } from './testing/harness.ts';
import { buildTar } from './testing/tar-builder.ts';

/*
 * Every way out of a scope we could think of, each refused with the right code AND with nothing on disk changed:
 * the whole tree (the scope and the canary beside it) is the same before and after, byte for byte, with no new
 * file anywhere (a refused upload leaves no temporary file; a refused archive leaves nothing unpacked).
 */

let tmp: string;
let root: string;
let harness: Harness;
let hostHarness: Harness;
const volume = { kind: 'volume', volume: 'agentpod-t_p' } as const;

/** Every entry below `dir`: type, size, mode, link target, content hash (not directories' times: a temporary
 * file made and removed in a directory changes its mtime, and that is not a change to anything in it). */
async function snapshot(dir: string, into = new Map<string, string>()): Promise<Map<string, string>> {
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) into.set(path, `link ${await readlink(path)} ${stats.mtimeMs}`);
    else if (stats.isDirectory()) {
      into.set(path, `dir ${stats.mode}`);
      await snapshot(path, into);
    } else {
      const hash = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      into.set(path, `file ${stats.mode} ${stats.size} ${stats.mtimeMs} ${hash}`);
    }
  }
  return into;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'agentpod-confine-'));
  root = join(tmp, 'root');
  await mkdir(join(tmp, 'outside', 'sub'), { recursive: true });
  await writeFile(join(tmp, 'outside', 'canary.txt'), 'canary');
  await mkdir(join(root, 'dir'), { recursive: true });
  await writeFile(join(root, 'file.txt'), 'hello');
  await writeFile(join(root, 'dir', 'inner.txt'), 'inner');
  await symlink('/etc', join(root, 'link-etc'));
  await symlink('../outside', join(root, 'link-out'));
  await symlink('chain2', join(root, 'chain1'));
  await symlink('dir/../../outside/canary.txt', join(root, 'chain2'));
  await symlink('../outside/canary.txt', join(root, 'file-link-out'));
  await symlink('dir', join(root, 'link-in'));
  await symlink('.', join(root, 'dot'));
  harness = workspaceHarness({ volumes: { mountpoint: async () => root }, maxUploadBytes: 1 << 20 });
  hostHarness = workspaceHarness({ fileRoots: [root] });
});

after(async () => {
  harness?.workspace.sessions.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Attempt = { name: string; code: 'invalid' | 'forbidden' | 'not_found'; run: (h: Harness) => Promise<unknown> };

const ops = () => harness.workspace.handlers;
/** An archive uploaded into /dir; entries are made when the test runs (`tmp` exists by then). */
const tar = (entries: Parameters<typeof buildTar>[0] | (() => Parameters<typeof buildTar>[0])) => (h: Harness) =>
  h.upload(
    { scope: volume, path: '/dir', extract: 'tar' },
    buildTar(typeof entries === 'function' ? entries() : entries),
  );

const attempts: Attempt[] = [
  { name: '.. at the top', code: 'invalid', run: () => ops().fileList({ scope: volume, path: '/..' }) },
  {
    name: '../.. below a directory',
    code: 'invalid',
    run: () => ops().fileList({ scope: volume, path: '/dir/../../outside' }),
  },
  {
    name: 'absolute /etc/passwd through ..',
    code: 'invalid',
    run: () => ops().fileStat({ scope: volume, path: '/../../../../etc/passwd' }),
  },
  { name: 'a symlink to /etc', code: 'forbidden', run: () => ops().fileList({ scope: volume, path: '/link-etc' }) },
  {
    name: 'a file through a symlink to /etc',
    code: 'forbidden',
    run: (h) => h.download({ scope: volume, path: '/link-etc/passwd' }),
  },
  { name: 'a symlink chain out', code: 'forbidden', run: (h) => h.download({ scope: volume, path: '/chain1' }) },
  {
    name: 'a directory symlink out',
    code: 'forbidden',
    run: () => ops().fileList({ scope: volume, path: '/link-out' }),
  },
  {
    name: 'an upload through a directory symlink out',
    code: 'forbidden',
    run: (h) => h.upload({ scope: volume, path: '/link-out/new.txt' }, Buffer.from('x')),
  },
  {
    name: 'an upload over a final symlink out',
    code: 'forbidden',
    run: (h) => h.upload({ scope: volume, path: '/file-link-out' }, Buffer.from('x')),
  },
  { name: 'a NUL byte', code: 'invalid', run: () => ops().fileList({ scope: volume, path: '/dir\0/x' }) },
  {
    name: 'a 256-byte component',
    code: 'invalid',
    run: () => ops().fileStat({ scope: volume, path: `/${'a'.repeat(256)}` }),
  },
  {
    name: 'a 4097-byte path',
    code: 'invalid',
    run: () => ops().fileStat({ scope: volume, path: `/${'a/'.repeat(2048)}` }),
  },
  { name: 'a relative path', code: 'invalid', run: () => ops().fileStat({ scope: volume, path: 'dir/inner.txt' }) },
  {
    name: 'tar: an entry ../x',
    code: 'forbidden',
    run: tar([
      { path: 'ok.txt', data: 'ok' },
      { path: '../x', data: 'x' },
    ]),
  },
  {
    name: 'tar: an absolute entry',
    code: 'forbidden',
    run: tar(() => [{ path: `${tmp}/outside/abs.txt`, data: 'x' }]),
  },
  {
    name: 'tar: a symlink entry to /',
    code: 'forbidden',
    run: tar([{ path: 'root-link', type: 'symlink', linkpath: '/' }]),
  },
  {
    name: 'tar: a symlink entry climbing out',
    code: 'forbidden',
    run: tar([{ path: 'a/up', type: 'symlink', linkpath: '../../..' }]),
  },
  {
    name: 'tar: a hard link out',
    code: 'forbidden',
    run: tar([{ path: 'hl', type: 'hardlink', linkpath: '../../outside/canary.txt' }]),
  },
  {
    name: 'tar: a hard link to an absolute path',
    code: 'forbidden',
    run: tar(() => [{ path: 'hl', type: 'hardlink', linkpath: `${tmp}/outside/canary.txt` }]),
  },
  {
    name: 'tar: a symlink chain that escapes only once resolved (a → ., b → a/..)',
    code: 'forbidden',
    run: tar([
      { path: 'a', type: 'symlink', linkpath: '.' },
      { path: 'b', type: 'symlink', linkpath: 'a/..' },
      { path: 'kept-if-broken.txt', data: 'x' },
    ]),
  },
  {
    name: 'tar: a hard link through a symlink of the archive',
    code: 'forbidden',
    run: tar([
      { path: 'a', type: 'symlink', linkpath: '.' },
      { path: 'hl', type: 'hardlink', linkpath: 'a/inner.txt' },
    ]),
  },
  { name: 'tar: a character device', code: 'forbidden', run: tar([{ path: 'null', type: 'chardev' }]) },
  { name: 'tar: a fifo', code: 'forbidden', run: tar([{ path: 'pipe', type: 'fifo' }]) },
  {
    name: 'a rename target out',
    code: 'forbidden',
    run: () => ops().fileMove({ scope: volume, from: '/file.txt', to: '/link-out/stolen.txt', overwrite: false }),
  },
  {
    name: 'a rename source out',
    code: 'forbidden',
    run: () => ops().fileMove({ scope: volume, from: '/link-out/canary.txt', to: '/stolen.txt', overwrite: false }),
  },
  {
    name: 'chmod through a final symlink out',
    code: 'forbidden',
    run: () => ops().fileChmod({ scope: volume, path: '/file-link-out', mode: '777' }),
  },
  {
    name: 'chmod through a directory symlink out',
    code: 'forbidden',
    run: () => ops().fileChmod({ scope: volume, path: '/link-out/canary.txt', mode: '777' }),
  },
  {
    name: 'chmod setgid on a file',
    code: 'forbidden',
    run: () => ops().fileChmod({ scope: volume, path: '/file.txt', mode: '2755' }),
  },
  {
    name: 'chmod setuid',
    code: 'invalid',
    run: () => ops().fileChmod({ scope: volume, path: '/file.txt', mode: '4755' }),
  },
  {
    name: 'mkdir through a symlink out',
    code: 'forbidden',
    run: () => ops().fileMkdir({ scope: volume, path: '/link-out/newdir', parents: true }),
  },
  {
    name: 'delete through a symlink out',
    code: 'forbidden',
    run: () => ops().fileDelete({ scope: volume, path: '/link-out/canary.txt', recursive: false }),
  },
  {
    name: 'delete the scope root',
    code: 'forbidden',
    run: () => ops().fileDelete({ scope: volume, path: '/', recursive: true }),
  },
  {
    name: 'an upload replacing the scope root through a symlink to .',
    code: 'forbidden',
    run: (h) => h.upload({ scope: volume, path: '/dot' }, Buffer.from('x')),
  },
  {
    name: 'move the scope root',
    code: 'forbidden',
    run: () => ops().fileMove({ scope: volume, from: '/', to: '/dir/x', overwrite: false }),
  },
  {
    name: 'host: a path outside the roots',
    code: 'forbidden',
    run: () => hostHarness.workspace.handlers.fileStat({ scope: { kind: 'host' }, path: '/etc/passwd' }),
  },
  {
    name: 'host: a sibling of the root with its name as prefix',
    code: 'forbidden',
    run: () => hostHarness.workspace.handlers.fileList({ scope: { kind: 'host' }, path: `${root}-evil` }),
  },
  {
    name: 'host: .. out of a root',
    code: 'invalid',
    run: () =>
      hostHarness.workspace.handlers.fileStat({ scope: { kind: 'host' }, path: `${root}/../outside/canary.txt` }),
  },
  {
    name: 'host: a symlink out of a root',
    code: 'forbidden',
    run: () => hostHarness.workspace.handlers.fileList({ scope: { kind: 'host' }, path: `${root}/link-out` }),
  },
  {
    name: 'an upload over the size limit',
    code: 'invalid',
    run: (h) => h.upload({ scope: volume, path: '/big.bin' }, Buffer.alloc((1 << 20) + 1)),
  },
];

describe('confinement: escape attempts are refused and change nothing', () => {
  test(`the table has ${attempts.length} attempts (at least 15)`, () => assert.ok(attempts.length >= 15));

  for (const attempt of attempts)
    test(attempt.name, async () => {
      const before = await snapshot(tmp);
      await assert.rejects(attempt.run(harness), (error: Error & { code?: string }) => {
        assert.equal(error.code, attempt.code, `${error.code}: ${error.message}`);
        return true;
      });
      // Transfers end after their reply: let any cleanup finish before looking.
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await snapshot(tmp), before, 'nothing on disk changed');
      assert.equal(await readFile(join(tmp, 'outside', 'canary.txt'), 'utf8'), 'canary');
    });
});

describe('confinement: what stays inside works', () => {
  test('a symlink inside is followed for a listing, and a symlink to . resolves to the root', async () => {
    const listing = await ops().fileList({ scope: volume, path: '/link-in' });
    assert.deepEqual(
      listing.entries.map((entry) => [entry.name, entry.path]),
      [['inner.txt', '/link-in/inner.txt']],
    );
    const top = await ops().fileList({ scope: volume, path: '/dot/dot' });
    assert.ok(top.entries.some((entry) => entry.name === 'file.txt'));
  });

  test('deleting a symlink that points out removes the link, never its target', async () => {
    await symlink('../outside', join(root, 'doomed-link'));
    await ops().fileDelete({ scope: volume, path: '/doomed-link', recursive: true });
    await assert.rejects(lstat(join(root, 'doomed-link')));
    assert.equal(await readFile(join(tmp, 'outside', 'canary.txt'), 'utf8'), 'canary');
  });

  test('a recursive delete of a directory holding a link out leaves the outside alone', async () => {
    await mkdir(join(root, 'tree', 'deep'), { recursive: true });
    await symlink(join(tmp, 'outside'), join(root, 'tree', 'deep', 'out'));
    await writeFile(join(root, 'tree', 'deep', 'f'), 'f');
    await ops().fileDelete({ scope: volume, path: '/tree', recursive: true });
    await assert.rejects(lstat(join(root, 'tree')));
    assert.deepEqual((await readdir(join(tmp, 'outside'))).sort(), ['canary.txt', 'sub']);
  });

  test('session ids are unique per call', () => assert.notEqual(sessionId('a'), sessionId('a')));
});
