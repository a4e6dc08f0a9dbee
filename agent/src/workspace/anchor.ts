import { constants } from 'node:fs';
import { type FileHandle, open, readlink } from 'node:fs/promises';
import { AppError } from '@agentpod/contracts';
import { fsError } from './file-errors.ts';
import { isWithin } from './paths.ts';

/*
 * Confinement, step two. A path checked by `resolveWithin` can still change before it is used: a process in the
 * pod may swap a directory for a symbolic link to `/etc` in between, and the agent runs as root. So an operation
 * never uses the checked path itself: it opens the directory it works in (O_DIRECTORY, O_NOFOLLOW), asks the
 * kernel where that open directory really is (`/proc/self/fd/<fd>`), refuses if that is outside the scope, and
 * then names entries through the open descriptor (`/proc/self/fd/<fd>/<name>`), which no later swap can redirect.
 * Linux only, like the agent.
 */

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export type Anchor = {
  /** `/proc/self/fd/<fd>`: the open directory. */
  readonly dir: string;
  /** Where the directory really is (checked to be within the scope). */
  readonly real: string;
  readonly handle: FileHandle;
  /** An entry of the directory, named through the descriptor. */
  at(name: string): string;
  close(): Promise<void>;
};

/** Opens the directory `real` (a path `resolveWithin` gave) and pins it; refuses it unless it is within `base`. */
export async function anchorDir(base: string, real: string, shown: string): Promise<Anchor> {
  let handle: FileHandle;
  try {
    handle = await open(real, DIRECTORY);
  } catch (error) {
    throw fsError(error, shown, 'open');
  }
  const dir = `/proc/self/fd/${handle.fd}`;
  let actual: string;
  try {
    actual = await readlink(dir);
  } catch (error) {
    await handle.close();
    throw error;
  }
  if (!isWithin(base, actual)) {
    await handle.close();
    throw new AppError('forbidden', `${shown}: moved outside the allowed directory while being opened`);
  }
  return {
    dir,
    real: actual,
    handle,
    at: (name) => `${dir}/${name}`,
    close: () => handle.close(),
  };
}

/** Runs `use` with `real` anchored, and closes the anchor whatever happens. */
export async function withAnchor<T>(
  base: string,
  real: string,
  shown: string,
  use: (anchor: Anchor) => Promise<T>,
): Promise<T> {
  const anchor = await anchorDir(base, real, shown);
  try {
    return await use(anchor);
  } finally {
    await anchor.close();
  }
}
