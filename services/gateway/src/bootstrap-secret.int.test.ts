import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BOOTSTRAP_SECRET_FILE, writeBootstrapSecret } from './bootstrap-secret.ts';

test('the bootstrap secret is written 0600 in a 0700 directory, fresh at every start', async () => {
  const root = await mkdtemp(join(tmpdir(), 'agentpod-state-'));
  try {
    const dir = join(root, 'nested', 'state');
    const first = await writeBootstrapSecret(dir);
    assert.match(first, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    const file = join(dir, BOOTSTRAP_SECRET_FILE);
    assert.equal(await readFile(file, 'utf8'), first);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const second = await writeBootstrapSecret(dir);
    assert.notEqual(second, first);
    assert.equal(await readFile(file, 'utf8'), second);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
