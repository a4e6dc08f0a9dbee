import {
  type ErrorBody,
  TERMINAL_CHUNK_BYTES,
  TERMINAL_WINDOW_BYTES,
  TerminalInput,
  type TerminalOutput,
} from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { CreditWindow, PauseGate, pieces } from './flow.ts';
import type { Terminator } from './process-tree.ts';
import type { EndReason, WorkspaceSession } from './sessions.ts';
import type { OutputStream, TerminalExit, TerminalProcess } from './terminal-process.ts';

export type TerminalSessionDeps = {
  publish: (message: TerminalOutput, durable: boolean) => void;
  /** Resolves when the agent's socket can take more (false: it is gone). */
  writable: () => Promise<boolean>;
  terminator: Terminator;
  logger: Logger;
  /** SIGHUP, then SIGKILL this much later (2 s). */
  killGraceMs?: number;
  window?: number;
  onEnded: () => void;
};

/**
 * One terminal: output goes out as `out` messages (at most TERMINAL_CHUNK_BYTES each) while the credit window
 * and the agent's socket allow, and reading stops otherwise, so a flood of output blocks the process instead of
 * filling memory anywhere; input, resizes and acknowledgements come from `….in`. It ends with exactly one `exit`
 * (durable: after a dropped socket it still reaches the control plane on the next one).
 */
export class TerminalSession implements WorkspaceSession {
  readonly kind = 'terminal';
  private readonly credit: CreditWindow;
  private gate: PauseGate | undefined;
  private process: TerminalProcess | undefined;
  private ending = false;
  private finished = false;
  private pendingSocket = false;
  /** Output before the session went live (see `attach`). */
  private early: Array<[Buffer, OutputStream]> | null = [];

  constructor(
    readonly id: string,
    private readonly deps: TerminalSessionDeps,
  ) {
    this.credit = new CreditWindow(deps.window ?? TERMINAL_WINDOW_BYTES);
  }

  /** Output from the process (given to the backend as its sink before the process starts). */
  readonly output = (chunk: Buffer, stream: OutputStream): void => {
    if (this.ending) return; // closing: drained, not relayed
    if (this.early) {
      this.early.push([chunk, stream]);
      return;
    }
    for (const piece of pieces(chunk, TERMINAL_CHUNK_BYTES))
      this.deps.publish({ t: 'out', data: piece.toString('base64'), stream }, false);
    this.credit.onSent(chunk.length);
    if (!this.gate) return;
    if (!this.credit.open) this.gate.hold('credit');
    if (!this.pendingSocket) {
      this.pendingSocket = true;
      this.gate.hold('socket');
      void this.deps.writable().then(() => {
        this.pendingSocket = false;
        this.gate?.release('socket');
      });
    }
  };

  /**
   * The process runs: its output is flow-controlled and its exit ends the session. Output is relayed from the
   * next turn on, after the `terminalOpen` reply went out, so the reply comes first; what came before (a prompt)
   * waited.
   */
  attach(process: TerminalProcess): void {
    this.process = process;
    this.gate = new PauseGate(process);
    this.gate.hold('reply');
    setImmediate(() => {
      const early = this.early ?? [];
      this.early = null;
      for (const [chunk, stream] of early) this.output(chunk, stream);
      this.gate?.release('reply');
    });
    void process.exited.then((exit) => this.finish(exit));
  }

  get sent(): number {
    return this.credit.sent;
  }

  get paused(): boolean {
    return this.gate?.paused ?? false;
  }

  input(data: string): void {
    let parsed: ReturnType<typeof TerminalInput.safeParse>;
    try {
      parsed = TerminalInput.safeParse(JSON.parse(data));
    } catch {
      parsed = TerminalInput.safeParse(undefined);
    }
    if (!parsed.success) {
      this.deps.logger.debug({ sessionId: this.id }, 'ignored a malformed terminal message');
      return;
    }
    const message = parsed.data;
    const process = this.process;
    switch (message.t) {
      case 'in':
        if (!this.ending) process?.write(Buffer.from(message.data, 'base64'));
        return;
      case 'resize':
        process?.resize({ cols: message.cols, rows: message.rows });
        return;
      case 'ack':
        this.credit.onAck(message.bytes);
        if (this.credit.open) this.gate?.release('credit');
        return;
      case 'eof':
        process?.endInput();
        return;
      case 'keepalive':
        return; // the registry noted that someone listens
      case 'close':
        this.end('closed');
        return;
      default: {
        const never: never = message;
        this.deps.logger.debug({ message: never }, 'unhandled terminal message');
      }
    }
  }

  end(reason: EndReason): void {
    if (this.ending || this.finished) return;
    this.ending = true;
    if (reason === 'expired')
      this.fail({ code: 'timeout', message: 'the terminal session heard nothing from the control plane; ended' });
    // Nothing is relayed any more; reading on lets the process see its output drained and end.
    this.gate?.releaseAll();
    void this.deps.terminator
      .terminate(this.process?.pid ?? null, this.deps.killGraceMs ?? 2_000)
      .catch((error) =>
        this.deps.logger.warn({ err: error, sessionId: this.id }, 'could not signal a terminal process'),
      );
    // A backend without a known pid (rare: an exec that vanished at once) is cut off from its stream instead.
    if (!this.process?.pid) this.process?.dispose();
  }

  private fail(error: ErrorBody): void {
    this.deps.publish({ t: 'error', error }, false);
  }

  private finish(exit: TerminalExit): void {
    // After the early output, whatever the order the process and `attach`'s turn ended in.
    if (this.early) {
      setImmediate(() => this.finish(exit));
      return;
    }
    this.finished = true;
    this.process?.dispose();
    this.deps.publish(
      exit.signal ? { t: 'exit', code: exit.code, signal: exit.signal } : { t: 'exit', code: exit.code },
      true,
    );
    this.deps.onEnded();
  }
}
