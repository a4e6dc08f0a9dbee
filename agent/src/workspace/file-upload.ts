import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, lstat, open, rename, stat, unlink } from 'node:fs/promises';
import {
  AppError,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileEntry,
  type FileStreamMessage,
} from '@agentpod/contracts';
import { type Logger, toErrorBody } from '@agentpod/kit';
import type { Anchor } from './anchor.ts';
import { entryOf, versionOf } from './file-entries.ts';
import { errnoOf, fsError } from './file-errors.ts';
import { endedError, type PublishFile, parseFileMessage, Signal } from './file-session.ts';
import type { EndReason, WorkspaceSession } from './sessions.ts';
import { extractInto } from './tar-extract.ts';

/** What an upload writes and where, settled (and checked) when it was opened. */
export type UploadPlan = {
  /** The directory it is written in: the target's (a file), or the target itself (a tar). */
  dir: Anchor;
  /** The target's name in `dir` (a file); unused for a tar. */
  name: string;
  /** The client's path and the target's name as the client knows it. */
  shown: string;
  shownName: string;
  extract: 'tar' | undefined;
  overwrite: boolean;
  ifVersion: string | undefined;
  /** The mode to give a new file (already checked); undefined: keep the replaced file's, or 644. */
  mode: number | undefined;
  /** Bytes the client announced, if it did: exactly these must arrive. */
  size: number | undefined;
  maxBytes: number;
};

export type UploadDeps = { publish: PublishFile; logger: Logger; onEnded: () => void };

/** The temporary file an upload writes: a name of our own beside the target, made with O_EXCL. */
export async function createTemporary(dir: Anchor): Promise<{ name: string; file: FileHandle }> {
  const name = `.agentpod-upload-${randomBytes(8).toString('hex')}`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  return { name, file: await open(dir.at(name), flags, 0o600) };
}

/**
 * One upload: `data` from `….in` is written to the temporary file in order and acknowledged (cumulative bytes
 * written) on `….out`; at `end` the file is synced and replaces the target in one rename (or is unpacked, for a
 * tar), and `done` carries the new entry. A `close`, a silent control plane or a dropped socket removes the
 * temporary file: the target is never half written.
 */
export class UploadSession implements WorkspaceSession {
  readonly kind = 'upload';
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private written = 0;
  private ending = false;
  private over = false;
  private aborted: EndReason | 'failed' | undefined;
  private failure: AppError | undefined;
  private readonly signal = new Signal();

  constructor(
    readonly id: string,
    private readonly plan: UploadPlan,
    private readonly temporary: { name: string; file: FileHandle },
    private readonly deps: UploadDeps,
  ) {}

  start(): void {
    void this.run();
  }

  input(data: string): void {
    if (this.over || this.aborted) return;
    const message = parseFileMessage(data);
    switch (message?.t) {
      case 'data': {
        const problem = this.accept(Buffer.from(message.data, 'base64'));
        if (problem) this.fail(problem);
        return;
      }
      case 'end':
        this.ending = true;
        this.signal.wake();
        return;
      case 'close':
        this.end('closed');
        return;
      default:
        return; // keepalive, or nothing this side reads
    }
  }

  /** Queues a chunk for writing, or says why the upload cannot take it. */
  private accept(bytes: Buffer): AppError | undefined {
    if (this.ending) return new AppError('invalid', 'data after the end of the upload');
    this.received += bytes.length;
    if (this.received > this.plan.maxBytes)
      return new AppError('invalid', `the upload is over ${this.plan.maxBytes} bytes (AGENTPOD_FILE_MAX_UPLOAD_BYTES)`);
    if (this.plan.size !== undefined && this.received > this.plan.size)
      return new AppError('invalid', `more than the announced ${this.plan.size} bytes arrived`);
    // A sender that ignores the acknowledgements would otherwise grow this queue without end.
    if (this.queued + bytes.length > FILE_WINDOW_BYTES + FILE_CHUNK_BYTES)
      return new AppError('invalid', 'more unacknowledged data than the window allows');
    this.queued += bytes.length;
    this.queue.push(bytes);
    this.signal.wake();
    return undefined;
  }

  end(reason: EndReason): void {
    if (this.over || this.aborted) return;
    this.aborted = reason;
    this.signal.wake();
  }

  private fail(error: AppError): void {
    this.failure = error;
    this.aborted = 'failed';
    this.signal.wake();
  }

  private async run(): Promise<void> {
    const { file } = this.temporary;
    // Said last, once the temporary file is gone: whoever hears it may look at the directory at once.
    let outcome: FileStreamMessage | undefined;
    try {
      for (;;) {
        if (this.aborted) break;
        const bytes = this.queue.shift();
        if (bytes) {
          await file.write(bytes, 0, bytes.length, this.written);
          this.written += bytes.length;
          this.queued -= bytes.length;
          this.deps.publish({ t: 'ack', bytes: this.written }, false);
          continue;
        }
        if (this.ending) break;
        await this.signal.wait();
      }
      if (this.aborted === 'failed') {
        if (this.failure) outcome = { t: 'error', error: this.failure.toBody() };
      } else if (this.aborted) {
        const error = endedError(this.aborted);
        if (error) outcome = { t: 'error', error };
      } else {
        if (this.plan.size !== undefined && this.written !== this.plan.size)
          throw new AppError(
            'invalid',
            `the upload ended after ${this.written} of the announced ${this.plan.size} bytes`,
          );
        this.over = true;
        outcome = { t: 'done', entry: await this.commit() };
      }
    } catch (caught) {
      if (!(caught instanceof AppError)) this.deps.logger.warn({ err: caught, sessionId: this.id }, 'an upload failed');
      outcome = { t: 'error', error: toErrorBody(caught, this.id) };
    } finally {
      this.over = true;
      await file.close().catch(() => {});
      await unlink(this.plan.dir.at(this.temporary.name)).catch(() => {}); // gone already once committed
      await this.plan.dir.close().catch(() => {});
      if (outcome) this.deps.publish(outcome, true);
      this.deps.onEnded();
    }
  }

  /** Makes the upload the target: synced, then renamed over it (or unpacked), and its new entry. */
  private async commit(): Promise<FileEntry> {
    const { plan } = this;
    const { file, name: temporary } = this.temporary;
    await file.sync();
    if (plan.extract === 'tar') {
      await extractInto({
        into: plan.dir,
        archive: plan.dir.at(temporary),
        overwrite: plan.overwrite,
        maxBytes: plan.maxBytes,
        shown: plan.shown,
      });
      return entryOf(plan.dir.real, plan.shownName, plan.shown);
    }
    const target = plan.dir.at(plan.name);
    const current = await lstat(target, { bigint: true }).catch((error) => {
      if (errnoOf(error) === 'ENOENT') return null;
      throw fsError(error, plan.shown, 'upload');
    });
    if (plan.ifVersion !== undefined && (!current || versionOf(current) !== plan.ifVersion))
      throw new AppError('conflict', `${plan.shown} changed since version ${plan.ifVersion}; nothing written`);
    if (current?.isDirectory()) throw new AppError('conflict', `${plan.shown} is a directory`);
    // A replaced file keeps its mode (never setuid or setgid) and owner; a new one gets 644 and the directory's.
    const mode = plan.mode ?? (current ? Number(current.mode) & 0o1777 : 0o644);
    await file.chmod(mode);
    if (process.getuid?.() === 0) {
      const owner = current ?? (await stat(plan.dir.dir, { bigint: true }));
      await file.chown(Number(owner.uid), Number(owner.gid));
    }
    try {
      if (plan.overwrite) await rename(plan.dir.at(temporary), target);
      // A link fails if the name exists, atomically: no check-then-rename race with another writer.
      else await link(plan.dir.at(temporary), target);
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') throw new AppError('conflict', `${plan.shown} exists already; nothing written`);
      throw fsError(error, plan.shown, 'upload');
    }
    await plan.dir.handle.sync().catch(() => {}); // the rename itself survives a crash
    return entryOf(target, plan.shownName, plan.shown);
  }
}
