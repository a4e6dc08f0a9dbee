import { constants } from 'node:fs';
import { open, readdir, rmdir, unlink } from 'node:fs/promises';
import { errnoOf } from './file-errors.ts';

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Removes `name` in the open directory `dir` (`/proc/self/fd/<fd>`) and, for a directory, everything below it,
 * each level through its own descriptor opened with O_NOFOLLOW. A subdirectory swapped for a symbolic link while
 * this runs is unlinked as the link it has become; nothing it points to is touched (a recursive delete by path
 * would follow it).
 */
export async function removeTree(dir: string, name: string): Promise<void> {
  try {
    await unlink(`${dir}/${name}`);
    return;
  } catch (error) {
    if (errnoOf(error) !== 'EISDIR' && errnoOf(error) !== 'EPERM') throw error;
  }
  const handle = await open(`${dir}/${name}`, DIRECTORY);
  try {
    const inner = `/proc/self/fd/${handle.fd}`;
    // Again while something inside keeps writing, a few times; then the rmdir below says the directory is not empty.
    for (let pass = 0; pass < 3; pass++) {
      const names = await readdir(inner);
      if (names.length === 0) break;
      for (const child of names)
        await removeTree(inner, child).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw error;
        });
    }
  } finally {
    await handle.close();
  }
  await rmdir(`${dir}/${name}`);
}
