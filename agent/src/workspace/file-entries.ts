import type { BigIntStats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import type { FileEntry } from '@agentpod/contracts';

/** Changes whenever the content may have: the modification time in nanoseconds and the size. */
export const versionOf = (stats: BigIntStats): string => `${stats.mtimeNs}-${stats.size}`;

/** Permission bits as octal text (`644`, `2775`). */
export const modeOf = (mode: number | bigint): string => (Number(mode) & 0o7777).toString(8).padStart(3, '0');

const typeOf = (stats: BigIntStats): FileEntry['type'] =>
  stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : 'other';

/** The entry of `path` (anchored), not following a final link; shown to the client as `shown`. */
export async function entryOf(path: string, name: string, shown: string): Promise<FileEntry> {
  const stats = await lstat(path, { bigint: true });
  const entry: FileEntry = {
    name,
    path: shown,
    type: typeOf(stats),
    size: Number(stats.size),
    mode: modeOf(stats.mode),
    modifiedAt: new Date(Number(stats.mtimeNs / 1_000_000n)).toISOString(),
    version: versionOf(stats),
  };
  if (entry.type === 'symlink') entry.target = await readlink(path);
  return entry;
}

/** Directories first, then by name (code points: the same order everywhere). */
export function byDirsThenName(a: FileEntry, b: FileEntry): number {
  const dirs = Number(b.type === 'dir') - Number(a.type === 'dir');
  return dirs !== 0 ? dirs : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
