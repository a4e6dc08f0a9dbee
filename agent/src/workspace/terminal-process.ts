import { constants } from 'node:os';
import type { TerminalSize } from '@agentpod/contracts';

/*
 * A terminal's process, whatever runs it: a pty on the host (node-pty), plain pipes on the host, or a
 * `docker exec` in a container. The session (terminal-session.ts) only ever sees this.
 */

export type OutputStream = 'stdout' | 'stderr';
export type TerminalExit = { code: number | null; signal?: string };

/** Where a process's output goes, from its first byte (given at start, so nothing is missed). */
export type OutputSink = (chunk: Buffer, stream: OutputStream) => void;

export interface TerminalProcess {
  /** The process's pid on this host (null when it could not be known). */
  readonly pid: number | null;
  /** Resolves once, after the last output went to the sink. */
  readonly exited: Promise<TerminalExit>;
  write(data: Buffer): void;
  /** End of input: stdin closes (without a tty; a tty has no end of input of its own). */
  endInput(): void;
  resize(size: TerminalSize): void;
  /** Stops reading output (the process blocks once its pipe or pty buffer is full) until `resume`. */
  pause(): void;
  resume(): void;
  /** Lets go of everything held (streams, sockets) once the process is over or being killed. */
  dispose(): void;
}

export type StartOptions = {
  /** argv; undefined: the target's login shell. */
  command: string[] | undefined;
  tty: boolean;
  size: TerminalSize;
};

/** The name of signal number `signal` (`SIGHUP`), or its number as text. */
export function signalName(signal: number): string {
  const found = Object.entries(constants.signals).find(([, number]) => number === signal);
  return found ? found[0] : String(signal);
}
