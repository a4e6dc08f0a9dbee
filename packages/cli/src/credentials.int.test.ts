import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { loadCredential, removeCredential, saveCredential } from './credentials.ts';
import { parseEnv } from './env.ts';

describe('saved credentials (temporary HOME)', () => {
  let home: string;
  let file: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'agentpod-cli-'));
    file = parseEnv({}, home, 'box').credentialsFile;
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('are written with mode 0600 in a directory of mode 0700, whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      await saveCredential(file, { url: 'http://127.0.0.1:8080', token: 'apt_one' });
    } finally {
      process.umask(previous);
    }
    assert.equal(file, join(home, '.config', 'agentpod', 'credentials.json'));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(file))).mode & 0o777, 0o700);
    assert.deepEqual(await loadCredential(file), { url: 'http://127.0.0.1:8080', token: 'apt_one' });
  });

  test('replacing them keeps the mode and leaves no temporary file behind', async () => {
    await saveCredential(file, { url: 'http://127.0.0.1:8080', token: 'apt_two', tokenId: 'tok_x' });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {
      url: 'http://127.0.0.1:8080',
      token: 'apt_two',
      tokenId: 'tok_x',
    });
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(dirname(file)), ['credentials.json']);
  });

  test('an existing directory with loose permissions is tightened', async () => {
    const xdg = join(home, 'xdg');
    await mkdir(join(xdg, 'agentpod'), { recursive: true, mode: 0o755 });
    const other = parseEnv({ XDG_CONFIG_HOME: xdg }, home, 'box').credentialsFile;
    await saveCredential(other, { url: 'http://a', token: 'apt_three' });
    assert.equal((await stat(join(xdg, 'agentpod'))).mode & 0o777, 0o700);
    assert.equal((await stat(other)).mode & 0o777, 0o600);
  });

  test('a planted temporary file or symlink is not written through', async () => {
    const target = join(home, 'victim');
    await writeFile(target, 'keep');
    const dir = join(home, 'planted');
    const planted = join(dir, 'credentials.json');
    await mkdir(dir, { recursive: true });
    await symlink(target, `${planted}.${process.pid}.tmp`);
    await assert.rejects(saveCredential(planted, { url: 'http://a', token: 'apt_x' }));
    assert.equal(await readFile(target, 'utf8'), 'keep');
  });

  test('no file means no credential; a damaged one is an error naming the file', async () => {
    assert.equal(await loadCredential(join(home, 'none.json')), undefined);
    const damaged = join(home, 'damaged.json');
    await writeFile(damaged, '{"url":1}');
    await assert.rejects(
      loadCredential(damaged),
      (error: unknown) =>
        error instanceof AppError && error.code === 'unauthenticated' && error.message.includes(damaged),
    );
  });

  test('remove deletes the file once', async () => {
    assert.equal(await removeCredential(file), true);
    assert.equal(await removeCredential(file), false);
    assert.equal(await loadCredential(file), undefined);
  });
});
