import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, normalize, posix } from 'node:path';
import {
  AgentOps,
  AppError,
  agentSubjects,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileEntry,
  type FileScope,
  FileStreamMessage,
  TERMINAL_CHUNK_BYTES,
  TERMINAL_WINDOW_BYTES,
  TerminalInput,
  type TerminalOutput,
  type TerminalSize,
} from '@agentpod/contracts';
import { createLogger, handler, serveRequests } from '@agentpod/kit';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';

/*
 * A stand-in agent for the workspace tests: a real NATS peer on one node's subjects, as the gateway's agent socket
 * relays a real agent. terminalOpen runs the command (default `cat`) with pipes, relays its output on the session's
 * `.out` in chunks and pauses reading while more than a window is unacknowledged; the file operations work on a
 * temporary directory (`volumes/<volume>` or `host`), with the same credit windows. It records what it saw.
 */

export type TerminalRecord = {
  sessionId: string;
  command: string[];
  tty: boolean;
  sizes: TerminalSize[];
  /** Bytes relayed to the gateway, and the client's latest acknowledgement. */
  sent: number;
  acked: number;
  maxUnacked: number;
  keepalives: number;
  closed: boolean;
};

export type FileStats = { maxDownloadUnacked: number; maxUploadUnacked: number; uploadsClosed: number };

const silent = createLogger('stand-in-agent', 'silent');

export class StandInAgent {
  readonly terminals: TerminalRecord[] = [];
  readonly files: FileStats = { maxDownloadUnacked: 0, maxUploadUnacked: 0, uploadsClosed: 0 };
  readonly #nc: NatsConnection;
  readonly #nodeId: string;
  readonly #root: string;
  readonly #subscriptions: Subscription[] = [];
  readonly #children = new Set<ChildProcessWithoutNullStreams>();

  constructor(nc: NatsConnection, nodeId: string, root: string) {
    this.#nc = nc;
    this.#nodeId = nodeId;
    this.#root = root;
  }

  start(): void {
    this.#serve('terminalOpen', AgentOps.terminalOpen.input, (input) => this.#terminalOpen(input));
    this.#serve('fileList', AgentOps.fileList.input, async ({ scope, path }) => {
      const dir = this.#resolve(scope, path);
      const names = (await readdir(dir)).sort();
      return { path, entries: await Promise.all(names.map((name) => this.#entry(scope, posix.join(path, name)))) };
    });
    this.#serve('fileStat', AgentOps.fileStat.input, ({ scope, path }) => this.#entry(scope, path));
    this.#serve('fileMkdir', AgentOps.fileMkdir.input, async ({ scope, path, parents }) => {
      await mkdir(this.#resolve(scope, path), { recursive: parents }).catch(fsError(path));
      return this.#entry(scope, path);
    });
    this.#serve('fileMove', AgentOps.fileMove.input, async ({ scope, from, to }) => {
      await rename(this.#resolve(scope, from), this.#resolve(scope, to)).catch(fsError(from));
      return this.#entry(scope, to);
    });
    this.#serve('fileChmod', AgentOps.fileChmod.input, async ({ scope, path, mode }) => {
      await chmod(this.#resolve(scope, path), Number.parseInt(mode, 8)).catch(fsError(path));
      return this.#entry(scope, path);
    });
    this.#serve('fileDelete', AgentOps.fileDelete.input, async ({ scope, path, recursive }) => {
      await rm(this.#resolve(scope, path), { recursive }).catch(fsError(path));
      return {};
    });
    this.#serve('fileDownload', AgentOps.fileDownload.input, (input) => this.#download(input));
    this.#serve('fileUpload', AgentOps.fileUpload.input, (input) => this.#upload(input));
  }

  stop(): void {
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const child of this.#children) {
      child.kill('SIGKILL');
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
    }
  }

  #serve<I>(op: string, schema: import('zod').ZodType<I>, fn: (input: I) => Promise<unknown>): void {
    this.#subscriptions.push(
      serveRequests({
        nc: this.#nc,
        subject: agentSubjects.command(this.#nodeId, op),
        queue: 'agent',
        logger: silent,
        handler: handler(schema, (input) => fn(input)),
      }),
    );
  }

  #publish(sessionId: string, message: TerminalOutput | FileStreamMessage): void {
    this.#nc.publish(agentSubjects.session(this.#nodeId, sessionId, 'out'), JSON.stringify(message));
  }

  #listen(sessionId: string, onMessage: (data: unknown) => void): Subscription {
    const subscription = this.#nc.subscribe(agentSubjects.session(this.#nodeId, sessionId, 'in'), {
      callback: (_error, msg) => onMessage(JSON.parse(msg.string())),
    });
    this.#subscriptions.push(subscription);
    return subscription;
  }

  async #terminalOpen(input: import('zod').infer<typeof AgentOps.terminalOpen.input>) {
    if (input.target.kind === 'container' && input.target.containerId === 'gone') {
      throw new AppError('not_found', 'no such container: gone');
    }
    const command = input.command ?? ['cat'];
    const record: TerminalRecord = {
      sessionId: input.sessionId,
      command,
      tty: input.tty,
      sizes: [input.size],
      sent: 0,
      acked: 0,
      maxUnacked: 0,
      keepalives: 0,
      closed: false,
    };
    this.terminals.push(record);
    const child = spawn(command[0] ?? 'cat', command.slice(1), { stdio: 'pipe' });
    this.#children.add(child);
    const outputs = [child.stdout, child.stderr] as const;
    // Output waiting for credit: never more than a window unacknowledged; the pipes pause meanwhile.
    const pending: { stream: 'stdout' | 'stderr'; bytes: Buffer }[] = [];
    let exit: TerminalOutput | undefined;
    const drain = () => {
      for (let head = pending[0]; head; head = pending[0]) {
        const credit = Math.min(TERMINAL_CHUNK_BYTES, TERMINAL_WINDOW_BYTES - (record.sent - record.acked));
        if (credit <= 0) break;
        const part = head.bytes.subarray(0, credit);
        head.bytes = head.bytes.subarray(part.length);
        if (head.bytes.length === 0) pending.shift();
        this.#publish(input.sessionId, { t: 'out', stream: head.stream, data: part.toString('base64') });
        record.sent += part.length;
        record.maxUnacked = Math.max(record.maxUnacked, record.sent - record.acked);
      }
      if (pending.length > 0) for (const output of outputs) output.pause();
      else if (exit) {
        if (!record.closed) this.#publish(input.sessionId, exit);
        subscription.unsubscribe();
      } else for (const output of outputs) output.resume();
    };
    child.stdout.on('data', (bytes: Buffer) => {
      pending.push({ stream: 'stdout', bytes });
      drain();
    });
    child.stderr.on('data', (bytes: Buffer) => {
      pending.push({ stream: 'stderr', bytes });
      drain();
    });
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      this.#children.delete(child);
      exit = { t: 'exit', code, ...(signal ? { signal } : {}) };
      drain();
    });
    const subscription = this.#listen(input.sessionId, (data) => {
      const message = TerminalInput.parse(data);
      switch (message.t) {
        case 'in':
          child.stdin.write(Buffer.from(message.data, 'base64'));
          return;
        case 'resize':
          record.sizes.push({ cols: message.cols, rows: message.rows });
          return;
        case 'ack':
          record.acked = message.bytes;
          drain();
          return;
        case 'eof':
          child.stdin.end();
          return;
        case 'keepalive':
          record.keepalives += 1;
          return;
        case 'close':
          record.closed = true;
          pending.length = 0;
          child.kill('SIGHUP');
          // Paused pipes would keep the child's handles (and this process) alive.
          for (const output of outputs) output.destroy();
          return;
        default: {
          const unknown: never = message;
          throw new Error(`unexpected ${JSON.stringify(unknown)}`);
        }
      }
    });
    await this.#nc.flush();
    return { pid: child.pid ?? null };
  }

  async #download({ scope, path, sessionId }: { scope: FileScope; path: string; sessionId: string }) {
    const entry = await this.#entry(scope, path);
    if (entry.type !== 'file') return entry;
    let sent = 0;
    let acked = 0;
    let stream: ReadStream | undefined;
    const subscription = this.#listen(sessionId, (data) => {
      const message = FileStreamMessage.parse(data);
      if (message.t === 'ack') {
        acked = message.bytes;
        if (sent - acked < FILE_WINDOW_BYTES) stream?.resume();
      } else if (message.t === 'close') {
        stream?.destroy();
        subscription.unsubscribe();
      }
    });
    await this.#nc.flush();
    setImmediate(() => {
      stream = createReadStream(this.#resolve(scope, path), { highWaterMark: FILE_CHUNK_BYTES });
      stream.on('data', (chunk) => {
        this.#publish(sessionId, { t: 'data', data: (chunk as Buffer).toString('base64') });
        sent += chunk.length;
        this.files.maxDownloadUnacked = Math.max(this.files.maxDownloadUnacked, sent - acked);
        if (sent - acked >= FILE_WINDOW_BYTES) stream?.pause();
      });
      stream.on('end', () => {
        this.#publish(sessionId, { t: 'end' });
        subscription.unsubscribe();
      });
      stream.on('error', (error) => {
        this.#publish(sessionId, { t: 'error', error: { code: 'internal', message: error.message } });
      });
    });
    return entry;
  }

  async #upload(input: import('zod').infer<typeof AgentOps.fileUpload.input>) {
    const { scope, path, sessionId } = input;
    const target = this.#resolve(scope, path);
    const existing = await this.#entry(scope, path).catch(() => undefined);
    if (input.ifVersion !== undefined && existing?.version !== input.ifVersion) {
      throw new AppError('conflict', `${path} changed since version ${input.ifVersion}`);
    }
    if (existing && !input.overwrite) throw new AppError('conflict', `${path} exists`);
    const temporary = `${target}.upload-${sessionId}`;
    const file: WriteStream = createWriteStream(temporary);
    file.on('error', () => {});
    let received = 0;
    let written = 0;
    let queue = Promise.resolve();
    const subscription = this.#listen(sessionId, (data) => {
      const message = FileStreamMessage.parse(data);
      switch (message.t) {
        case 'data': {
          const bytes = Buffer.from(message.data, 'base64');
          received += bytes.length;
          this.files.maxUploadUnacked = Math.max(this.files.maxUploadUnacked, received - written);
          queue = queue.then(
            () =>
              new Promise<void>((resolve, reject) =>
                file.destroyed
                  ? resolve()
                  : file.write(bytes, (error) => {
                      // Written after a `close` destroyed the file: nothing more to do for this session.
                      if (error) return file.destroyed ? resolve() : reject(error);
                      written += bytes.length;
                      this.#publish(sessionId, { t: 'ack', bytes: written });
                      resolve();
                    }),
              ),
          );
          return;
        }
        case 'end':
          queue = queue
            .then(() => new Promise<void>((resolve) => file.end(resolve)))
            .then(() => rename(temporary, target))
            .then(async () => {
              if (input.mode) await chmod(target, Number.parseInt(input.mode, 8));
              this.#publish(sessionId, { t: 'done', entry: await this.#entry(scope, path) });
            })
            .catch((error: Error) => {
              this.#publish(sessionId, { t: 'error', error: { code: 'internal', message: error.message } });
            })
            .finally(() => subscription.unsubscribe());
          return;
        case 'close':
          this.files.uploadsClosed += 1;
          subscription.unsubscribe();
          file.destroy();
          void rm(temporary, { force: true });
          return;
        default:
          return;
      }
    });
    await this.#nc.flush();
    return { ready: true as const };
  }

  #resolve(scope: FileScope, path: string): string {
    const base = scope.kind === 'volume' ? join(this.#root, 'volumes', scope.volume) : join(this.#root, 'host');
    const relative = normalize(path).replace(/^\/+/, '');
    if (relative.startsWith('..')) throw new AppError('invalid', `${path} is outside the scope`);
    return join(base, relative);
  }

  async #entry(scope: FileScope, path: string): Promise<FileEntry> {
    const stats = await lstat(this.#resolve(scope, path), { bigint: true }).catch(fsError(path));
    return {
      name: posix.basename(path) || '/',
      path,
      type: stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : 'other',
      size: Number(stats.size),
      mode: (Number(stats.mode) & 0o7777).toString(8),
      modifiedAt: new Date(Number(stats.mtimeMs)).toISOString(),
      version: `${stats.mtimeNs}-${stats.size}`,
    };
  }
}

const fsError =
  (path: string) =>
  (error: NodeJS.ErrnoException): never => {
    if (error.code === 'ENOENT') throw new AppError('not_found', `${path} does not exist`);
    if (['EEXIST', 'ENOTEMPTY', 'ERR_FS_EISDIR'].includes(error.code ?? '')) {
      throw new AppError('conflict', `${path}: ${error.code}`);
    }
    throw new AppError('invalid', `${path}: ${error.code ?? error.message}`);
  };
