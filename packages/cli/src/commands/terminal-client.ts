import { constants } from 'node:os';
import { Writable } from 'node:stream';
import { TERMINAL_WINDOW_BYTES, type TerminalSize } from '@agentpod/contracts';
import type { Context } from '../context.ts';
import { EXIT, type Writer } from '../output.ts';
import { closeError, type OutputStream, TerminalSocket } from './terminal-client-socket.ts';

/*
 * `pod exec` and `node shell` run here: the terminal socket (terminal-client-socket.ts) wired to the CLI's stdin,
 * stdout and stderr.
 *
 *   stdin ──binary frames──▶ gateway ──▶ agent pty / docker exec
 *   stdout/stderr ◀──binary frames (first byte: the stream)── … ; text frames: ready, exit, error
 *
 * Flow control: output is acknowledged (`{t:'ack', bytes}`, cumulative) only once stdout or stderr has taken it
 * (the write callback), so a slow reader of our stdout (a pipe into `less`) makes the agent pause its pty instead
 * of anything in the chain buffering.
 */

/** Acknowledge at least this often (bytes), well inside the agent's window so it never waits on us. */
const ACK_EVERY_BYTES = TERMINAL_WINDOW_BYTES / 8;
/** Smaller amounts are acknowledged after this delay, in one message. */
const ACK_DELAY_MS = 20;
/** Stop reading stdin while this much input waits in the socket. */
const INPUT_HIGH_WATER_BYTES = 1024 * 1024;

export type TerminalSession = {
  /** The socket's path, e.g. `/api/v1/tenants/acme/pods/web/terminal` (already encoded). */
  path: string;
  command: string[] | undefined;
  tty: boolean;
  /** Forward stdin (and its end as `eof`). */
  interactive: boolean;
};

/** The exit code a shell reports for a process killed by `signal`. */
export function signalExitCode(signal: string | undefined): number {
  const number = signal === undefined ? undefined : (constants.signals as Record<string, number>)[signal];
  return number === undefined ? EXIT.failure : 128 + number;
}

/** Where output bytes go; `done` once the writer has taken them (that is when they are acknowledged). */
type Sink = { write(bytes: Buffer, done: () => void): void };

/**
 * stdout/stderr as a byte sink: a real stream gets the bytes as they are and calls back when it has taken them
 * (which is what paces the remote side); a plain text writer (an in-process caller) gets them decoded as UTF-8.
 */
export function byteSink(writer: Writer): Sink {
  if (writer instanceof Writable) return { write: (bytes, done) => void writer.write(bytes, () => done()) };
  const decoder = new TextDecoder();
  return {
    write(bytes, done) {
      writer.write(decoder.decode(bytes, { stream: true }));
      done();
    },
  };
}

/** The window size of stdout when it is a terminal. */
function sizeOf(out: unknown): TerminalSize | undefined {
  const { columns, rows } = out as { columns?: number; rows?: number };
  if (!columns || !rows) return undefined;
  const clamp = (n: number) => Math.min(1000, Math.max(1, Math.floor(n)));
  return { cols: clamp(columns), rows: clamp(rows) };
}

type Emitter = { on(event: string, listener: () => void): unknown; off(event: string, listener: () => void): unknown };
const isEmitter = (value: unknown): value is Emitter =>
  typeof (value as Partial<Emitter>).on === 'function' && typeof (value as Partial<Emitter>).off === 'function';

/** Cumulative acknowledgements, batched: every ACK_EVERY_BYTES, or ACK_DELAY_MS after the last write. */
function acknowledger(terminal: TerminalSocket): { taken: (bytes: number) => void; stop: () => void } {
  let consumed = 0;
  let acked = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (consumed === acked) return;
    acked = consumed;
    terminal.ack(consumed);
  };
  return {
    taken(bytes) {
      consumed += bytes;
      if (consumed - acked >= ACK_EVERY_BYTES) flush();
      else timer ??= setTimeout(flush, ACK_DELAY_MS);
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * Runs one terminal session to its end and returns the CLI's exit code: the remote command's, 128+n when a signal
 * killed it, 130 when interrupted here. Refusals and broken sessions throw an AppError (exit code by its class).
 */
export async function runTerminal(ctx: Context, session: TerminalSession): Promise<number> {
  const { io } = ctx;
  const target = await ctx.target();
  const terminal = await TerminalSocket.open({
    baseUrl: target.url,
    path: session.path,
    token: target.token,
    signal: io.signal,
  });
  const stdin = io.stdin as NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  const sinks: Record<OutputStream, Sink> = { stdout: byteSink(io.stdout), stderr: byteSink(io.stderr) };
  const acks = acknowledger(terminal);
  const undo: (() => void)[] = [acks.stop];

  terminal.onOutput((bytes, stream) => sinks[stream].write(bytes, () => acks.taken(bytes.length)));
  const interrupt = () => terminal.close(1000);
  io.signal.addEventListener('abort', interrupt, { once: true });
  undo.push(() => io.signal.removeEventListener('abort', interrupt));

  const startInput = () => {
    if (session.tty && stdin.isTTY === true && typeof stdin.setRawMode === 'function') {
      // Keystrokes (Ctrl-C included) go to the remote terminal, which echoes and interprets them.
      stdin.setRawMode(true);
      undo.push(() => stdin.setRawMode?.(false));
    }
    const onData = (chunk: Buffer | string) => {
      terminal.input(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, () => {
        if (terminal.bufferedAmount < INPUT_HIGH_WATER_BYTES) stdin.resume();
      });
      if (terminal.bufferedAmount >= INPUT_HIGH_WATER_BYTES) stdin.pause();
    };
    const onEnd = () => terminal.eof();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
    undo.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    });
  };
  const followResize = () => {
    const out = io.stdout;
    if (!session.tty || !isEmitter(out)) return;
    const onResize = () => {
      const size = sizeOf(out);
      if (size) terminal.resize(size);
    };
    out.on('resize', onResize);
    undo.push(() => out.off('resize', onResize));
  };

  try {
    terminal.start(sizeOf(io.stdout) ?? { cols: 80, rows: 24 }, { command: session.command, tty: session.tty });
    const started = await terminal.ready.then(
      () => true,
      () => false,
    );
    if (started) {
      if (session.interactive) startInput();
      followResize();
    }
    const end = await terminal.ended;
    if (io.signal.aborted) return EXIT.interrupted;
    if (end.exit) return end.exit.code ?? signalExitCode(end.exit.signal);
    throw end.error ?? closeError(end.closeCode, end.reason);
  } finally {
    for (const step of undo.reverse()) step();
    terminal.terminate();
  }
}
