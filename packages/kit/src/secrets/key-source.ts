import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { type Keyring, keyringOf } from './cipher.ts';

/**
 * The secrets key: AGENTPOD_SECRETS_KEY (base64, 32 bytes) when set; otherwise `<stateDir>/secrets.key`, created
 * with 32 random bytes (0600, directory 0700) on first start. Losing the key loses every stored secret, so the
 * creation is logged once with the path to back up. Replicas starting together agree on one key: the file is
 * written under a temporary name and linked into place, which fails for all but the first.
 */
export async function loadKeyring(options: { key?: string; stateDir: string; logger: Logger }): Promise<Keyring> {
  if (options.key) return keyringOf(Buffer.from(options.key, 'base64'));
  const path = join(options.stateDir, 'secrets.key');
  const existing = await readKey(path);
  if (existing) return keyringOf(existing);
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temporary, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, path);
    await chmod(path, 0o600);
    options.logger.warn(
      { path },
      `created the secrets key ${path}: back it up; without it the stored secrets cannot be read`,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(temporary, { force: true });
  }
  const created = await readKey(path);
  if (!created) throw new Error(`${path} does not hold a secrets key`);
  return keyringOf(created);
}

async function readKey(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} must hold 32 bytes, base64; it holds ${key.length}`);
  return key;
}
