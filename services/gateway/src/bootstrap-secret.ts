import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File in AGENTPOD_STATE_DIR that holds the bootstrap secret; the CLI reads the same path. */
export const BOOTSTRAP_SECRET_FILE = 'bootstrap-secret';

/**
 * Writes a fresh random secret (256 bits, base64url) to `<stateDir>/bootstrap-secret`, mode 0600 in a 0700
 * directory, and returns it. Only someone who can read files on the control-plane host as the gateway's user can
 * create the first platform admin. A new secret at every start: an old copy is worth nothing.
 */
export async function writeBootstrapSecret(stateDir: string): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const secret = randomBytes(32).toString('base64url');
  const path = join(stateDir, BOOTSTRAP_SECRET_FILE);
  // Write then rename, so a reader never sees a half-written file; the temporary file is 0600 from its creation.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, secret, { mode: 0o600 });
  await rename(temporary, path);
  return secret;
}
