import { AppError } from '@agentpod/contracts';

/** The `code` of a Node.js system error (`ENOENT`…), or undefined. */
export const errnoOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;

/**
 * A filesystem error as the catalogue's AppError, naming the client's path (`shown`), never the host path the
 * error message carries. Anything unexpected stays an internal error (logged by dispatch).
 */
export function fsError(error: unknown, shown: string, doing: string): unknown {
  if (error instanceof AppError) return error;
  const code = errnoOf(error);
  const what = `${doing} ${shown}`;
  switch (code) {
    case 'ENOENT':
      return new AppError('not_found', `${what}: no such file or directory`, { cause: error });
    case 'EEXIST':
      return new AppError('conflict', `${what}: it exists already`, { cause: error });
    case 'ENOTEMPTY':
      return new AppError('conflict', `${what}: the directory is not empty`, { cause: error });
    case 'EISDIR':
      return new AppError('conflict', `${what}: it is a directory`, { cause: error });
    case 'ENOTDIR':
      return new AppError('invalid', `${what}: not a directory`, { cause: error });
    case 'ELOOP':
      // O_NOFOLLOW met a symbolic link where a directory was just seen: it was swapped in meanwhile.
      return new AppError('conflict', `${what}: a symbolic link appeared on the way; try again`, { cause: error });
    case 'EINVAL':
      return new AppError('invalid', `${what}: not possible (a directory into itself?)`, { cause: error });
    case 'EXDEV':
      return new AppError('invalid', `${what}: cannot move across filesystems`, { cause: error });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new AppError('forbidden', `${what}: permission denied`, { cause: error });
    case 'ENOSPC':
    case 'EDQUOT':
      return new AppError('unavailable', `${what}: no space left on the device`, { cause: error });
    case 'ENAMETOOLONG':
      return new AppError('invalid', `${what}: name too long`, { cause: error });
    default:
      return error;
  }
}
