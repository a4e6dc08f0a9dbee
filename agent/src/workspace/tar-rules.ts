import { posix } from 'node:path';
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './paths.ts';

/** An archive entry as far as the rules care (node-tar's ReadEntry has these). */
export type ArchiveEntry = { path: string; type: string; linkpath?: string | undefined; size: number };

/** Entries one archive may hold: a tar of millions of empty files is a way to exhaust inodes, not an upload. */
export const MAX_ARCHIVE_ENTRIES = 100_000;

const PLAIN = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'GNUDumpDir']);

const namesOf = (path: string) => path.split('/').filter((name) => name !== '' && name !== '.');

/**
 * Why one entry must not be unpacked, or undefined. The whole archive is refused for any one of them: a path
 * that is absolute or climbs with `..`, a device or a fifo, a symbolic link whose target is absolute or lands
 * outside the archive, a hard link that is absolute or climbs. (A link chain that escapes only once resolved,
 * `a → .` then `b → a/..`, passes here and is caught on disk after unpacking: see tar-extract.ts.)
 */
export function entryProblem(entry: ArchiveEntry): string | undefined {
  const { path, type } = entry;
  if (path.includes('\0')) return 'an entry name contains a NUL byte';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return `${path} is an absolute path`;
  const names = namesOf(path);
  if (names.includes('..')) return `${path} climbs out with ".."`;
  if (Buffer.byteLength(path) > MAX_PATH_BYTES || names.some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES))
    return `${path.slice(0, 80)}… is too long`;
  if (names.length === 0 && type !== 'Directory') return 'an entry has no name';
  if (PLAIN.has(type)) return undefined;
  const link = entry.linkpath ?? '';
  if (type === 'SymbolicLink') {
    if (link.includes('\0') || link === '') return `${path} is a symbolic link without a usable target`;
    if (link.startsWith('/')) return `${path} is a symbolic link to the absolute path ${link}`;
    const landed = posix.normalize(posix.join(names.slice(0, -1).join('/') || '.', link));
    if (landed === '..' || landed.startsWith('../')) return `${path} is a symbolic link pointing outside (${link})`;
    return undefined;
  }
  if (type === 'Link') {
    if (link.startsWith('/')) return `${path} is a hard link to the absolute path ${link}`;
    const target = namesOf(link);
    if (target.length === 0 || target.includes('..')) return `${path} is a hard link pointing outside (${link})`;
    return undefined;
  }
  return `${path} is a ${type}; only files, directories and links are unpacked`;
}

/**
 * What is wrong with the archive as a whole: the first entry's problem, too many entries or bytes, or a hard
 * link through a symbolic link of the same archive (it could name a file anywhere; a hard link to it would make
 * that file reachable from the scope).
 */
export function archiveProblem(entries: readonly ArchiveEntry[], maxBytes: number): string | undefined {
  if (entries.length > MAX_ARCHIVE_ENTRIES) return `the archive has more than ${MAX_ARCHIVE_ENTRIES} entries`;
  let bytes = 0;
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem) return problem;
    bytes += entry.size;
  }
  if (bytes > maxBytes)
    return `the archive unpacks to ${bytes} bytes; at most ${maxBytes} (AGENTPOD_FILE_MAX_UPLOAD_BYTES)`;
  const links = new Set(
    entries.filter((entry) => entry.type === 'SymbolicLink').map((entry) => namesOf(entry.path).join('/')),
  );
  for (const entry of entries) {
    if (entry.type !== 'Link') continue;
    const names = namesOf(entry.linkpath ?? '');
    for (let length = 1; length <= names.length; length++)
      if (links.has(names.slice(0, length).join('/')))
        return `${entry.path} is a hard link through the symbolic link ${names.slice(0, length).join('/')}`;
  }
  return undefined;
}
