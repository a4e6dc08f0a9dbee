import { basename, dirname } from 'node:path';
import { AppError, type FileScope } from '@agentpod/contracts';
import type { Placed, Scopes } from './file-scopes.ts';
import { type Resolved, resolveWithin } from './paths.ts';

/** A client path placed and resolved: where it really is, and what to show the client. */
export type Target = Extract<Placed, { kind: 'path' }> &
  Resolved & {
    /** The scope's top itself (a volume's root, a host root): never deleted, moved or replaced. */
    isRoot: boolean;
    /** The real directory `real` is in, and its name there. */
    parent: string;
    name: string;
  };

/**
 * Places `path` in `scope` and resolves it confined (see paths.ts); the host scope's `/` comes back as the list
 * of roots. Nothing on disk is changed, and every refusal happens here, before an operation starts.
 */
export async function locate(
  scopes: Scopes,
  scope: FileScope,
  path: string,
  followFinal: boolean,
): Promise<Target | Extract<Placed, { kind: 'roots' }>> {
  const placed = await scopes.place(scope, path);
  if (placed.kind === 'roots') return placed;
  const resolved = await resolveWithin(placed.base, placed.names, { followFinal, shown: placed.shown });
  const isRoot = resolved.real === placed.base;
  return { ...placed, ...resolved, isRoot, parent: dirname(resolved.real), name: basename(resolved.real) };
}

/** `locate` for operations on one file or directory: the host's `/` (the list of roots) is none. */
export async function locatePath(
  scopes: Scopes,
  scope: FileScope,
  path: string,
  followFinal: boolean,
  doing: string,
): Promise<Target> {
  const found = await locate(scopes, scope, path, followFinal);
  if (found.kind === 'roots')
    throw new AppError('forbidden', `cannot ${doing} /: on a node, / only lists the allowed roots`);
  return found;
}

/** The target must exist. */
export function existing(target: Target): Target {
  if (!target.exists) throw new AppError('not_found', `no such file or directory: ${target.shown}`);
  return target;
}
