import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, opendir, rename, rmdir, stat } from 'node:fs/promises';
import { type AgentOpOutput, AppError, type FileEntry } from '@agentpod/contracts';
import type { OpInput } from '../requests/ops.ts';
import { mapLimited } from '../runtime/limited.ts';
import { type Anchor, anchorDir, withAnchor } from './anchor.ts';
import { byDirsThenName, entryOf } from './file-entries.ts';
import { errnoOf, fsError } from './file-errors.ts';
import type { Scopes } from './file-scopes.ts';
import { existing, locate, locatePath, type Target } from './locate.ts';
import { removeTree } from './remove-tree.ts';

export type FileOpsDeps = { scopes: Scopes; maxListEntries: number };

const isRootUser = () => process.getuid?.() === 0;

/**
 * A mode as the client sends it (FileMode: octal, never setuid). Setgid only on a directory, where it means
 * "new files take the directory's group"; on a file run by root it would be a way to gain a group.
 */
export function parseMode(text: string, isDirectory: boolean, shown: string): number {
  const mode = Number.parseInt(text, 8);
  if (!/^0?[0-3]?[0-7]{3}$/.test(text) || mode & 0o4000)
    throw new AppError('invalid', `mode ${text} is not an octal mode without setuid (such as 644 or 0755)`);
  if (mode & 0o2000 && !isDirectory) throw new AppError('forbidden', `${shown}: setgid is only allowed on directories`);
  return mode;
}

/**
 * New files and directories belong to the owner of the directory they are made in: the agent runs as root, and
 * a pod's process (often not root) must be able to change what its users upload.
 */
export async function inheritOwner(anchor: Anchor, path: string): Promise<void> {
  if (!isRootUser()) return;
  const owner = await stat(anchor.dir);
  await chown(path, owner.uid, owner.gid);
}

/** Lists, stats, makes directories, moves, deletes and changes modes, each confined to its scope. */
export function createFileOps(deps: FileOpsDeps) {
  const { scopes } = deps;
  const entryAt = (target: Target) =>
    target.isRoot
      ? entryOf(target.real, target.names.at(-1) ?? '/', target.shown)
      : withAnchor(target.base, target.parent, target.shown, (anchor) =>
          entryOf(anchor.at(target.name), target.names.at(-1) ?? target.name, target.shown),
        );

  const list = async ({ scope, path }: OpInput<'fileList'>): Promise<AgentOpOutput<'fileList'>> => {
    const found = await locate(scopes, scope, path, true);
    if (found.kind === 'roots') {
      const entries = await Promise.all(
        found.roots.map(
          (root) => entryOf(root, root, root).catch(() => null), // a root that is missing is not listed
        ),
      );
      return { path: '/', entries: entries.filter((entry): entry is FileEntry => entry !== null) };
    }
    const target = existing(found);
    return withAnchor(target.base, target.real, target.shown, async (dir) => {
      const names: string[] = [];
      let truncated = false;
      try {
        for await (const dirent of await opendir(dir.dir)) {
          if (names.length === deps.maxListEntries) {
            truncated = true;
            break;
          }
          names.push(dirent.name);
        }
      } catch (error) {
        throw fsError(error, target.shown, 'list');
      }
      const prefix = target.shown === '/' ? '' : target.shown;
      const entries = await mapLimited(
        names,
        (name) => entryOf(dir.at(name), name, `${prefix}/${name}`).catch(() => null), // removed meanwhile
        16,
      );
      return {
        path: target.shown,
        entries: entries.filter((entry): entry is FileEntry => entry !== null).sort(byDirsThenName),
        ...(truncated ? { truncated } : {}),
      };
    });
  };

  const makeDirectory = async ({ scope, path, parents }: OpInput<'fileMkdir'>) => {
    const target = await locatePath(scopes, scope, path, true, 'make');
    if (target.exists) {
      const stats = await lstat(target.real);
      if (!stats.isDirectory()) throw new AppError('conflict', `${target.shown} exists and is not a directory`);
      if (!parents) throw new AppError('conflict', `${target.shown} exists already`);
      return entryAt(target);
    }
    if (!target.parentExists && !parents)
      throw new AppError('not_found', `${target.shown}: the parent directory does not exist (parents: true makes it)`);
    // From the deepest directory that exists down, one level at a time, each made through its anchored parent.
    const missing = target.real.slice(target.base.length).split('/').filter(Boolean);
    let current = target.base;
    for (const name of missing) {
      const next = current === '/' ? `/${name}` : `${current}/${name}`;
      const exists = await lstat(next).then(
        (stats) => stats.isDirectory(),
        () => false,
      );
      if (!exists)
        await withAnchor(target.base, current, target.shown, async (anchor) => {
          try {
            await mkdir(anchor.at(name), 0o755);
            await inheritOwner(anchor, anchor.at(name));
          } catch (error) {
            if (errnoOf(error) !== 'EEXIST') throw fsError(error, target.shown, 'make');
          }
        });
      current = next;
    }
    return entryAt({ ...target, exists: true });
  };

  const move = async ({ scope, from, to, overwrite }: OpInput<'fileMove'>) => {
    const source = existing(await locatePath(scopes, scope, from, false, 'move'));
    const destination = await locatePath(scopes, scope, to, false, 'move');
    if (source.isRoot || destination.isRoot)
      throw new AppError('forbidden', `cannot move ${source.isRoot ? from : to}: it is the top of the scope`);
    if (!destination.parentExists)
      throw new AppError('not_found', `${destination.shown}: the parent directory does not exist`);
    if (source.real === destination.real) return entryAt(source);
    if (destination.exists && !overwrite)
      throw new AppError('conflict', `${destination.shown} exists already (overwrite: true replaces it)`);
    await withAnchor(source.base, source.parent, source.shown, (from) =>
      withAnchor(destination.base, destination.parent, destination.shown, async (into) => {
        try {
          await rename(from.at(source.name), into.at(destination.name));
        } catch (error) {
          throw fsError(error, `${source.shown} → ${destination.shown}`, 'move');
        }
      }),
    );
    return entryAt({ ...destination, exists: true });
  };

  const remove = async ({ scope, path, recursive }: OpInput<'fileDelete'>) => {
    // A final link is removed itself, never what it points to.
    const target = existing(await locatePath(scopes, scope, path, false, 'delete'));
    if (target.isRoot) throw new AppError('forbidden', `cannot delete ${target.shown}: it is the top of the scope`);
    await withAnchor(target.base, target.parent, target.shown, async (anchor) => {
      const stats = await lstat(anchor.at(target.name)).catch((error) =>
        Promise.reject(fsError(error, target.shown, 'delete')),
      );
      try {
        if (!stats.isDirectory()) await removeTree(anchor.dir, target.name);
        else if (recursive) await removeTree(anchor.dir, target.name);
        else await rmdir(anchor.at(target.name));
      } catch (error) {
        if (errnoOf(error) === 'ENOTEMPTY')
          throw new AppError(
            'conflict',
            `${target.shown} is a directory that is not empty (recursive: true deletes it)`,
          );
        throw fsError(error, target.shown, 'delete');
      }
    });
    return {};
  };

  const changeMode = async ({ scope, path, mode }: OpInput<'fileChmod'>) => {
    // A final link is followed (a link's own mode means nothing on Linux); its target must be inside too.
    const target = existing(await locatePath(scopes, scope, path, true, 'change the mode of'));
    const anchor = target.isRoot ? null : await anchorDir(target.base, target.parent, target.shown);
    try {
      const file = await open(
        anchor ? anchor.at(target.name) : target.real,
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      ).catch((error) => Promise.reject(fsError(error, target.shown, 'change the mode of')));
      try {
        const stats = await file.stat();
        if (!stats.isFile() && !stats.isDirectory())
          throw new AppError('invalid', `${target.shown}: only files and directories have their mode changed here`);
        await file.chmod(parseMode(mode, stats.isDirectory(), target.shown));
      } finally {
        await file.close();
      }
    } finally {
      await anchor?.close();
    }
    return entryAt(target);
  };

  return {
    fileList: list,
    fileStat: async ({ scope, path }: OpInput<'fileStat'>): Promise<FileEntry> => {
      const found = await locate(scopes, scope, path, false);
      if (found.kind === 'roots')
        return {
          name: '/',
          path: '/',
          type: 'dir',
          size: 0,
          mode: '555',
          modifiedAt: new Date(0).toISOString(),
          version: '0-0',
        };
      return entryAt(existing(found));
    },
    fileMkdir: makeDirectory,
    fileMove: move,
    fileDelete: remove,
    fileChmod: changeMode,
  };
}
