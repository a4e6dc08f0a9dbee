import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { type AgentOpOutput, AppError, type FileStreamMessage } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { OpInput } from '../requests/ops.ts';
import { type Anchor, anchorDir } from './anchor.ts';
import { DownloadSession } from './file-download.ts';
import { entryOf, versionOf } from './file-entries.ts';
import { fsError } from './file-errors.ts';
import type { Scopes } from './file-scopes.ts';
import { createTemporary, type UploadPlan, UploadSession } from './file-upload.ts';
import { parseMode } from './files.ts';
import { existing, locatePath } from './locate.ts';
import type { SessionRegistry } from './sessions.ts';

export type TransferDeps = {
  scopes: Scopes;
  sessions: SessionRegistry;
  publish: (sessionId: string, message: FileStreamMessage, durable: boolean) => void;
  writable: () => Promise<boolean>;
  logger: Logger;
  maxUploadBytes: number;
  /** Transfers at once; more are `unavailable`. */
  maxTransfers?: number;
  /** Tests use a smaller credit window. */
  window?: number;
};

const MAX_TRANSFERS = 64;

/**
 * `fileDownload` and `fileUpload`: everything that can be refused is refused before the reply (the path, the
 * target's type, a version or existence conflict, the size), and the file or the temporary file is open by
 * then; the bytes then stream over the session.
 */
export function createTransferOps(deps: TransferDeps) {
  const { sessions } = deps;
  const admit = (sessionId: string) => {
    if (sessions.has(sessionId)) throw new AppError('conflict', `session ${sessionId} is in use`);
    const running = sessions.count('download') + sessions.count('upload');
    if (running >= (deps.maxTransfers ?? MAX_TRANSFERS))
      throw new AppError('unavailable', `this node runs ${running} file transfers already; try again shortly`);
  };

  const download = async ({
    scope,
    path,
    sessionId,
  }: OpInput<'fileDownload'>): Promise<AgentOpOutput<'fileDownload'>> => {
    admit(sessionId);
    const target = existing(await locatePath(deps.scopes, scope, path, true, 'download'));
    const dir = target.isRoot ? null : await anchorDir(target.base, target.parent, target.shown);
    try {
      const file = await open(
        dir ? dir.at(target.name) : target.real,
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      ).catch((error) => Promise.reject(fsError(error, target.shown, 'download')));
      const stats = await file.stat({ bigint: true });
      if (!stats.isFile()) {
        await file.close();
        throw new AppError('invalid', `${target.shown} is not a file`);
      }
      const entry = await entryOf(dir ? dir.at(target.name) : target.real, target.names.at(-1) ?? '/', target.shown);
      // The entry describes the open file, whatever happened to the name since.
      entry.size = Number(stats.size);
      entry.version = versionOf(stats);
      const session: DownloadSession = new DownloadSession(sessionId, file, entry.size, {
        publish: (message, durable) => deps.publish(sessionId, message, durable),
        writable: deps.writable,
        logger: deps.logger,
        onEnded: () => sessions.remove(sessionId, session),
        ...(deps.window === undefined ? {} : { window: deps.window }),
      });
      sessions.add(sessionId, session);
      session.start();
      return entry;
    } finally {
      await dir?.close();
    }
  };

  const upload = async (input: OpInput<'fileUpload'>): Promise<AgentOpOutput<'fileUpload'>> => {
    const { scope, path, sessionId } = input;
    admit(sessionId);
    if (input.size !== undefined && input.size > deps.maxUploadBytes)
      throw new AppError(
        'invalid',
        `${input.size} bytes is over ${deps.maxUploadBytes} (AGENTPOD_FILE_MAX_UPLOAD_BYTES)`,
      );
    const target = await locatePath(deps.scopes, scope, path, true, 'upload to');
    const mode = input.mode === undefined || input.extract ? undefined : parseMode(input.mode, false, target.shown);
    let dir: Anchor;
    if (input.extract === 'tar') {
      existing(target);
      dir = await anchorDir(target.base, target.real, target.shown);
    } else {
      if (target.isRoot) throw new AppError('forbidden', `cannot replace ${target.shown}: it is the top of the scope`);
      if (!target.parentExists) throw new AppError('not_found', `${target.shown}: the parent directory does not exist`);
      dir = await anchorDir(target.base, target.parent, target.shown);
    }
    try {
      if (!input.extract) await checkTarget(dir, target.name, target.shown, input);
      const temporary = await createTemporary(dir).catch((error) =>
        Promise.reject(fsError(error, target.shown, 'upload to')),
      );
      const plan: UploadPlan = {
        dir,
        name: target.name,
        shown: target.shown,
        shownName: target.names.at(-1) ?? '/',
        extract: input.extract,
        overwrite: input.overwrite,
        ifVersion: input.ifVersion,
        mode,
        size: input.size,
        maxBytes: deps.maxUploadBytes,
      };
      const session: UploadSession = new UploadSession(sessionId, plan, temporary, {
        publish: (message, durable) => deps.publish(sessionId, message, durable),
        logger: deps.logger,
        onEnded: () => sessions.remove(sessionId, session),
      });
      sessions.add(sessionId, session);
      session.start();
      return { ready: true };
    } catch (error) {
      await dir.close();
      throw error;
    }
  };

  return { fileDownload: download, fileUpload: upload };
}

/** What can be known to fail before a byte is sent: a directory in the way, an existing file, another version. */
async function checkTarget(
  dir: Anchor,
  name: string,
  shown: string,
  input: { overwrite: boolean; ifVersion?: string | undefined },
): Promise<void> {
  const current = await lstat(dir.at(name), { bigint: true }).catch(() => null);
  if (current?.isDirectory()) throw new AppError('conflict', `${shown} is a directory`);
  if (current && !input.overwrite) throw new AppError('conflict', `${shown} exists already (overwrite replaces it)`);
  if (input.ifVersion !== undefined && (!current || versionOf(current) !== input.ifVersion))
    throw new AppError(
      'conflict',
      current ? `${shown} changed since version ${input.ifVersion}` : `${shown} no longer exists`,
    );
}
