import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, stat } from 'node:fs/promises';
import { AppError } from '@agentpod/contracts';
import { list, type ReadEntry } from 'tar';
import type { Anchor } from './anchor.ts';
import { errnoOf } from './file-errors.ts';
import { resolveWithin } from './paths.ts';
import { removeTree } from './remove-tree.ts';
import { type ArchiveEntry, archiveProblem } from './tar-rules.ts';
import { unpackInto } from './tar-unpack.ts';

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

const refused = (problem: string) => new AppError('forbidden', `the archive was refused, nothing kept: ${problem}`);

/** Reads the archive's entries without unpacking anything (gzip is detected). */
async function entriesOf(archive: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  try {
    await list({
      file: archive,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath, size: entry.size });
      },
    });
  } catch (error) {
    throw new AppError('invalid', `not a readable tar archive: ${(error as Error).message}`, { cause: error });
  }
  if (entries.length === 0) throw new AppError('invalid', 'not a tar archive, or an empty one');
  return entries;
}

/**
 * Unpacks the archive `archive` (a file in `into`) into the directory `into` (anchored), all or nothing:
 * 1. every entry is checked first (tar-rules.ts); one bad entry refuses the archive before anything is written;
 * 2. it is unpacked into a fresh directory inside `into` (tar-unpack.ts: through descriptors, owners not taken
 *    from the archive, setuid and setgid stripped from files), and every symbolic link there is resolved on
 *    disk: a chain that leaves the fresh directory refuses the archive and the directory is removed;
 * 3. what was unpacked is moved into `into` (merging directories; with `overwrite` false an existing name
 *    refuses everything, checked before the first move).
 */
export async function extractInto(options: {
  into: Anchor;
  archive: string;
  overwrite: boolean;
  maxBytes: number;
  shown: string;
}): Promise<void> {
  const { into } = options;
  const problem = archiveProblem(await entriesOf(options.archive), options.maxBytes);
  if (problem) throw refused(problem);

  const staging = `.agentpod-extract-${randomBytes(6).toString('hex')}`;
  await mkdir(into.at(staging), 0o700);
  try {
    const stagingDir = await open(into.at(staging), DIRECTORY);
    try {
      const root = `/proc/self/fd/${stagingDir.fd}`;
      const owner = await stat(into.dir);
      // Root would otherwise own everything; the directory's owner does, like anything made in it.
      await unpackInto(
        options.archive,
        root,
        process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : undefined,
      );
      await checkLinks(await realpath(root), root, []);
      await mergeInto(root, into.dir, options.overwrite, true, options.shown);
      await mergeInto(root, into.dir, options.overwrite, false, options.shown);
    } finally {
      await stagingDir.close();
    }
  } finally {
    await removeTree(into.dir, staging).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
  }
}

/** Every symbolic link below `dir` (`names` deep in the staging directory `base`) must resolve inside `base`. */
async function checkLinks(base: string, dir: string, names: string[]): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = `${dir}/${name}`;
    const stats = await lstat(path);
    const inner = [...names, name];
    if (stats.isSymbolicLink()) {
      const shown = inner.join('/');
      await resolveWithin(base, inner, { followFinal: true, shown }).catch((error: unknown) => {
        throw error instanceof AppError && error.code === 'forbidden'
          ? refused(`${shown} is a symbolic link pointing outside`)
          : error;
      });
    } else if (stats.isDirectory()) {
      const handle = await open(path, DIRECTORY);
      try {
        await checkLinks(base, `/proc/self/fd/${handle.fd}`, inner);
      } finally {
        await handle.close();
      }
    }
  }
}

/**
 * Moves everything in `from` into `to` (both open directories), merging directories that exist on both sides.
 * `dryRun` only looks for conflicts: a name that exists (with `overwrite` false), or a file against a directory.
 */
async function mergeInto(from: string, to: string, overwrite: boolean, dryRun: boolean, shown: string): Promise<void> {
  for (const name of await readdir(from)) {
    const source = await lstat(`${from}/${name}`);
    const existing = await lstat(`${to}/${name}`).catch(() => null);
    if (existing?.isDirectory() && source.isDirectory()) {
      const [a, b] = [await open(`${from}/${name}`, DIRECTORY), await open(`${to}/${name}`, DIRECTORY)];
      try {
        await mergeInto(`/proc/self/fd/${a.fd}`, `/proc/self/fd/${b.fd}`, overwrite, dryRun, `${shown}/${name}`);
      } finally {
        await a.close();
        await b.close();
      }
      continue;
    }
    if (existing && (!overwrite || existing.isDirectory() || source.isDirectory()))
      throw new AppError(
        'conflict',
        `the archive was refused, nothing kept: ${shown}/${name} exists already` +
          (overwrite ? ' and one of the two is a directory' : ' (overwrite replaces files)'),
      );
    if (!dryRun) await rename(`${from}/${name}`, `${to}/${name}`);
  }
}
