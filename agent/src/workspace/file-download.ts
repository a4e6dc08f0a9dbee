import type { FileHandle } from 'node:fs/promises';
import { AppError, FILE_CHUNK_BYTES, FILE_WINDOW_BYTES } from '@agentpod/contracts';
import { type Logger, toErrorBody } from '@agentpod/kit';
import { endedError, type PublishFile, parseFileMessage, Signal } from './file-session.ts';
import { CreditWindow } from './flow.ts';
import type { EndReason, WorkspaceSession } from './sessions.ts';

export type DownloadDeps = {
  publish: PublishFile;
  writable: () => Promise<boolean>;
  logger: Logger;
  onEnded: () => void;
  window?: number;
};

/**
 * One download: the file (opened and checked before the reply) is read in FILE_CHUNK_BYTES pieces and sent as
 * `data` while fewer than FILE_WINDOW_BYTES wait for the control plane's `ack`, then `end`. Exactly `size` bytes
 * (the size the reply announced) are sent: a file that shrinks meanwhile ends with an `error`, one that grows is
 * cut at that size, so the bytes always match the length the client was promised.
 */
export class DownloadSession implements WorkspaceSession {
  readonly kind = 'download';
  private readonly credit: CreditWindow;
  private readonly signal = new Signal();
  private ended: EndReason | undefined;

  constructor(
    readonly id: string,
    private readonly file: FileHandle,
    private readonly size: number,
    private readonly deps: DownloadDeps,
  ) {
    this.credit = new CreditWindow(deps.window ?? FILE_WINDOW_BYTES);
  }

  /** Streams from the next turn on, after the reply (the entry) went out. */
  start(): void {
    setImmediate(() => void this.run());
  }

  input(data: string): void {
    const message = parseFileMessage(data);
    if (message?.t === 'ack') {
      this.credit.onAck(message.bytes);
      this.signal.wake();
    } else if (message?.t === 'close') this.end('closed');
  }

  end(reason: EndReason): void {
    this.ended ??= reason;
    this.signal.wake();
  }

  private async run(): Promise<void> {
    let position = 0;
    const buffer = Buffer.alloc(Math.min(FILE_CHUNK_BYTES, Math.max(this.size, 1)));
    try {
      while (position < this.size && !this.ended) {
        if (this.credit.unacked > 0 && this.credit.unacked + buffer.length > this.credit.window) {
          await this.signal.wait();
          continue;
        }
        if (!(await this.deps.writable())) {
          this.ended ??= 'dropped';
          break;
        }
        const { bytesRead } = await this.file.read(buffer, 0, Math.min(buffer.length, this.size - position), position);
        if (bytesRead === 0)
          throw new AppError('conflict', `the file shrank to ${position} bytes while it was being read`);
        this.deps.publish({ t: 'data', data: buffer.subarray(0, bytesRead).toString('base64') }, false);
        this.credit.onSent(bytesRead);
        position += bytesRead;
      }
      if (this.ended) {
        const error = endedError(this.ended);
        if (error) this.deps.publish({ t: 'error', error }, true);
      } else this.deps.publish({ t: 'end' }, true);
    } catch (caught) {
      if (!(caught instanceof AppError))
        this.deps.logger.warn({ err: caught, sessionId: this.id }, 'a download failed');
      this.deps.publish({ t: 'error', error: toErrorBody(caught, this.id) }, true);
    } finally {
      await this.file.close().catch(() => {});
      this.deps.onEnded();
    }
  }
}
