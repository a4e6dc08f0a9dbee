import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../logger.ts';
import { decrypt, encrypt } from './cipher.ts';
import { loadKeyring } from './key-source.ts';

const logger = createLogger('pods', 'silent');

describe('the secrets key (real files)', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'agentpod-key-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('created once on first start, 0600 in a 0700 directory; replicas starting together share it', async () => {
    const stateDir = join(root, 'fresh', '.agentpod');
    const keyrings = await Promise.all([1, 2, 3].map(() => loadKeyring({ stateDir, logger })));
    const keys = keyrings.map((k) => k.keys.get(1)?.toString('hex'));
    assert.equal(new Set(keys).size, 1);
    assert.equal((await stat(join(stateDir, 'secrets.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    const [first] = keyrings;
    assert.ok(first);
    const sealed = encrypt(first, 'kept across restarts', 'ctx');
    assert.equal(decrypt(await loadKeyring({ stateDir, logger }), sealed, 'ctx'), 'kept across restarts');
  });

  test('AGENTPOD_SECRETS_KEY wins over the file and writes nothing', async () => {
    const stateDir = join(root, 'env');
    const key = randomBytes(32);
    const keyring = await loadKeyring({ key: key.toString('base64'), stateDir, logger });
    assert.deepEqual(keyring.keys.get(1), key);
    await assert.rejects(stat(stateDir), { code: 'ENOENT' });
  });

  test('a key file that does not hold 32 bytes stops the start with its path', async () => {
    const stateDir = join(root, 'broken');
    await loadKeyring({ stateDir, logger });
    await writeFile(join(stateDir, 'secrets.key'), 'c2hvcnQ=');
    await assert.rejects(loadKeyring({ stateDir, logger }), /secrets\.key must hold 32 bytes/);
    assert.equal(await readFile(join(stateDir, 'secrets.key'), 'utf8'), 'c2hvcnQ=');
  });
});
