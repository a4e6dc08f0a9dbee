import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '@agentpod/contracts';
import { z } from 'zod';

/*
 * The credential `agentpod login` saves: `${XDG_CONFIG_HOME:-~/.config}/agentpod/credentials.json`, mode 0600 in a
 * directory of mode 0700, holding `{ url, token }`. `tokenId` is there only when the CLI created the token itself
 * (magic-link login), which is how `logout` knows it may revoke it: a token the user pasted or was shown may be
 * in use elsewhere.
 */

export const SavedCredential = z.object({
  url: z.string(),
  token: z.string().min(1),
  tokenId: z.string().optional(),
});
export type SavedCredential = z.infer<typeof SavedCredential>;

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** The saved credential, or undefined when there is none. A damaged file is an error naming the file. */
export async function loadCredential(file: string): Promise<SavedCredential | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new AppError('unauthenticated', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = SavedCredential.safeParse(json);
  if (!parsed.success) {
    throw new AppError('unauthenticated', `${file} is not a saved credential; run agentpod login again`);
  }
  return parsed.data;
}

/** Writes the credential atomically with mode 0600 (the directory 0700), whatever the umask. */
export async function saveCredential(file: string, credential: SavedCredential): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    // `wx` refuses to follow a planted file or symlink; the mode applies from creation, so no moment of 0644.
    await writeFile(temporary, `${JSON.stringify(credential, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Removes the saved credential; true when there was one. */
export async function removeCredential(file: string): Promise<boolean> {
  try {
    await stat(file);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  await rm(file);
  return true;
}

/** True when two URLs name the same origin (scheme, host and port), so a saved token may be sent there. */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
