import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@agentpod/contracts';
import { errnoOf } from './file-errors.ts';

/*
 * Confinement, step one: the path as text, and as a walk over what is really on disk. Nothing here writes; every
 * refusal happens before any operation touches the filesystem. Step two (anchor.ts) pins the directory an
 * operation then works in, so a directory swapped for a symlink between this walk and the operation is caught.
 */

/** The contract's limits (FilePath), checked again: the agent trusts no caller. */
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
/** Symbolic links followed in one resolution before giving up, as the kernel's ELOOP. */
const MAX_LINKS = 40;

/** The names of an absolute client path (`/a//b/.` → `a`, `b`); refuses what no valid path contains. */
export function pathComponents(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new AppError('invalid', 'a path must be absolute (start with /)');
  if (path.includes('\0')) throw new AppError('invalid', 'a path must not contain NUL bytes');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES)
    throw new AppError('invalid', `a path may be at most ${MAX_PATH_BYTES} bytes`);
  const names = path.split('/').filter((name) => name !== '' && name !== '.');
  for (const name of names) {
    if (name === '..') throw new AppError('invalid', `".." is not allowed in a path (${shorten(path)})`);
    if (Buffer.byteLength(name) > MAX_NAME_BYTES)
      throw new AppError('invalid', `a path component may be at most ${MAX_NAME_BYTES} bytes`);
  }
  return names;
}

/** The path as it is shown back to the client: `/` and the names, normalised. */
export const showPath = (names: readonly string[]): string => `/${names.join('/')}`;

/** Whether `path` is `base` or below it (both absolute, normalised). */
export function isWithin(base: string, path: string): boolean {
  if (base === '/') return path.startsWith('/');
  return path === base || path.startsWith(`${base}/`);
}

export type Resolved = {
  /** The real path on disk: every symbolic link on the way followed (and the last one if asked). */
  real: string;
  /** Whether `real` exists (`lstat`: a final link that was not followed exists even when dangling). */
  exists: boolean;
  /** Whether `real`'s directory exists (a missing target can then be created). */
  parentExists: boolean;
};

const shorten = (path: string) => (path.length > 80 ? `${path.slice(0, 77)}…` : path);

/**
 * Resolves `names` below `base` (a real, absolute directory) the way the kernel would, but refuses instead of
 * leaving `base`: a symbolic link whose target (absolute, or relative with `..`) lands outside, at any depth and
 * through chains of links, is `forbidden`. `followFinal: false` stops at a final symbolic link (the link itself
 * is the target: delete, move, stat). `shown` names the path in messages (never the host path).
 */
export async function resolveWithin(
  base: string,
  names: readonly string[],
  options: { followFinal: boolean; shown: string },
): Promise<Resolved> {
  const outside = () =>
    new AppError(
      'forbidden',
      `${shorten(options.shown)}: a symbolic link on the way points outside the allowed directory`,
    );
  let current = base;
  const queue = [...names];
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      // Only a link's target brings `..` here; `current` holds no links, so its parent is lexical.
      if (current === base) throw outside();
      current = current.slice(0, current.lastIndexOf('/')) || '/';
      continue;
    }
    const next = join(current, name);
    const last = !queue.some((rest) => rest !== '' && rest !== '.');
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(next);
    } catch (error) {
      const code = errnoOf(error);
      if (code !== 'ENOENT') {
        if (code === 'ENOTDIR') throw new AppError('invalid', `${shorten(options.shown)}: not a directory on the way`);
        throw error;
      }
      const rest = queue.filter((part) => part !== '' && part !== '.');
      // A missing directory cannot be walked out of again; the kernel would say ENOENT as well.
      if (rest.includes('..')) throw new AppError('not_found', `no such file or directory: ${shorten(options.shown)}`);
      return { real: join(next, ...rest), exists: false, parentExists: rest.length === 0 };
    }
    if (stats.isSymbolicLink() && (!last || options.followFinal)) {
      links += 1;
      if (links > MAX_LINKS)
        throw new AppError('invalid', `${shorten(options.shown)}: too many levels of symbolic links`);
      const target = await readlink(next);
      const parts = target.split('/');
      if (target.startsWith('/')) {
        // An absolute target must name a place below `base` itself; the rest is walked like any path.
        const baseParts = base === '/' ? [] : base.split('/').slice(1);
        const targetParts = parts.slice(1).filter((part) => part !== '' && part !== '.');
        if (baseParts.some((part, index) => targetParts[index] !== part)) throw outside();
        current = base;
        queue.unshift(...targetParts.slice(baseParts.length));
      } else queue.unshift(...parts);
      continue;
    }
    if (!last && !stats.isDirectory())
      throw new AppError('invalid', `${shorten(options.shown)}: ${name} is not a directory`);
    current = next;
  }
  return { real: current, exists: true, parentExists: true };
}
