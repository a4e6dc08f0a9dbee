import { constants, createReadStream } from 'node:fs';
import { type FileHandle, lchown, link, mkdir, open, symlink } from 'node:fs/promises';
import { AppError } from '@agentpod/contracts';
import { Parser, type ReadEntry } from 'tar';
import { errnoOf } from './file-errors.ts';
import { entryProblem } from './tar-rules.ts';

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

const refused = (problem: string) => new AppError('forbidden', `the archive was refused, nothing kept: ${problem}`);
const names = (path: string) => path.split('/').filter((name) => name !== '' && name !== '.');

export type Owner = { uid: number; gid: number } | undefined;

/**
 * Unpacks `archive` into the open directory `root` (`/proc/self/fd/<fd>`), entry by entry, every one through
 * descriptors: each directory on an entry's way is opened with O_NOFOLLOW from the one before, and files are
 * created with O_EXCL|O_NOFOLLOW. Nothing is resolved by path from outside, so a directory swapped for a link
 * while this runs (the pod's processes can write here) leads nowhere but to a refusal. node-tar parses (tar,
 * gzip, its decompression-ratio guard); it writes nothing itself.
 */
export async function unpackInto(archive: string, root: string, owner: Owner): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  let chain: Promise<void> = Promise.resolve();
  // The parser emits an entry without a body (a directory, a link) and goes on at once: one at a time here.
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure === undefined)
        try {
          await unpackEntry(entry, root, owner);
        } catch (error) {
          failure = error;
        }
      entry.resume(); // whatever was not read, so the parser goes on
    });
  });
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', (error: Error) => reject(error));
  });
  const source = createReadStream(archive);
  source.on('error', (error) => parser.emit('error', error));
  source.pipe(parser as unknown as NodeJS.WritableStream);
  try {
    await parsed;
  } catch (error) {
    await chain;
    throw new AppError('invalid', `the archive could not be unpacked: ${(error as Error).message}`, { cause: error });
  }
  await chain;
  if (failure !== undefined) throw failure;
}

/** Opens the directory `path` below `root`, one level at a time, making the missing ones (null: `root` itself). */
async function openDirectory(root: string, path: string[], owner: Owner, shown: string): Promise<FileHandle | null> {
  let current: FileHandle | null = null;
  try {
    for (const name of path) {
      const at = `${current ? `/proc/self/fd/${current.fd}` : root}/${name}`;
      let next: FileHandle;
      try {
        next = await open(at, DIRECTORY);
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'ELOOP' || code === 'ENOTDIR') throw refused(`${shown} goes through a symbolic link or a file`);
        if (code !== 'ENOENT') throw error;
        await mkdir(at, 0o755).catch((made: unknown) => {
          if (errnoOf(made) !== 'EEXIST') throw made;
        });
        next = await open(at, DIRECTORY).catch(() => Promise.reject(refused(`${shown} goes through a symbolic link`)));
        if (owner) await next.chown(owner.uid, owner.gid);
      }
      await current?.close();
      current = next;
    }
    return current;
  } catch (error) {
    await current?.close();
    throw error;
  }
}

async function unpackEntry(entry: ReadEntry, root: string, owner: Owner): Promise<void> {
  const problem = entryProblem({ path: entry.path, type: entry.type, linkpath: entry.linkpath, size: entry.size });
  if (problem) throw refused(problem); // checked before unpacking too; the archive could read differently now
  const parts = names(entry.path);
  const name = parts.pop();
  if (name === undefined) return; // `./` itself
  const parent = await openDirectory(root, parts, owner, entry.path);
  const dir = parent ? `/proc/self/fd/${parent.fd}` : root;
  const at = `${dir}/${name}`;
  try {
    switch (entry.type) {
      case 'Directory':
      case 'GNUDumpDir': {
        const made = await openDirectory(dir, [name], owner, entry.path);
        // Never setuid; setgid on a directory only means "new files take its group".
        await made?.chmod((entry.mode ?? 0o755) & 0o3777);
        await made?.close();
        return;
      }
      case 'SymbolicLink':
        await symlink(entry.linkpath ?? '', at);
        if (owner) await lchown(at, owner.uid, owner.gid);
        return;
      case 'Link': {
        const target = names(entry.linkpath ?? '');
        const targetName = target.pop() as string;
        const from = await openDirectory(root, target, undefined, entry.path);
        try {
          // link() does not follow a final symbolic link: the new name is a link to the same inode only.
          await link(`${from ? `/proc/self/fd/${from.fd}` : root}/${targetName}`, at);
        } finally {
          await from?.close();
        }
        return;
      }
      default: {
        // A file: written through its descriptor; never setuid or setgid.
        const file = await open(at, NEW_FILE, 0o600);
        try {
          for await (const chunk of entry) await file.write(chunk as Buffer);
          if (owner) await file.chown(owner.uid, owner.gid);
          await file.chmod((entry.mode ?? 0o644) & 0o1777);
          if (entry.mtime) await file.utimes(entry.mtime, entry.mtime);
        } finally {
          await file.close();
        }
      }
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (errnoOf(error) === 'EEXIST') throw new AppError('invalid', `the archive holds ${entry.path} twice`);
    if (errnoOf(error) === 'ELOOP') throw refused(`${entry.path} goes through a symbolic link`);
    throw error;
  } finally {
    await parent?.close();
  }
}
