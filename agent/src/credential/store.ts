import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, NODE_CREDENTIAL_PREFIX, NodeId } from '@agentpod/contracts';
import { z } from 'zod';

/** What `join` leaves on the node: where the control plane is, which node this is, and its secret. */
export const StoredCredential = z.object({
  gatewayUrl: z.url({ protocol: /^https?$/ }),
  nodeId: NodeId,
  credential: z.string().startsWith(NODE_CREDENTIAL_PREFIX).min(20).max(200),
});
export type StoredCredential = z.infer<typeof StoredCredential>;

export const credentialFile = (stateDir: string): string => join(stateDir, 'credential.json');

/** The saved credential; null when there is none yet. A file that is there but unreadable is an error. */
export async function readCredential(stateDir: string): Promise<StoredCredential | null> {
  const file = credentialFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('unavailable', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('invalid', `${file} is not JSON: run agentpod-agent join again`);
  }
  const parsed = StoredCredential.safeParse(json);
  if (!parsed.success)
    throw new AppError('invalid', `${file} is not a node credential (${parsed.error.issues[0]?.message}): join again`);
  return parsed.data;
}

/**
 * Saves the credential as `credential.json`, 0600 in a 0700 directory, written to a temporary file (0600 from
 * its creation) and renamed over the old one, so a crash never leaves half a credential and no other user can
 * ever read it. Returns the file's path.
 */
export async function saveCredential(stateDir: string, credential: StoredCredential): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const file = credentialFile(stateDir);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(StoredCredential.parse(credential), null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600); // a leftover temporary file from an earlier crash kept its old mode
  await rename(temporary, file);
  return file;
}
