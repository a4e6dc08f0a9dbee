import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * One control-plane process as an operator runs it (`node <service>/main`), started from the sources (tsx, the
 * `development` condition), like the agent and the CLI in these tests. It can be stopped politely, killed, frozen
 * (SIGSTOP: its sockets stay open, it does nothing) and thawed, and its output is kept for assertions and for the
 * report of a failed test.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ARGS = ['--conditions=development', '--import', 'tsx'];
/** Output kept per process: the end is what explains a failure. */
const KEEP_OUTPUT = 2 * 1024 * 1024;

export type ServiceProcess = {
  /** This instance's name (`reconciler-2`). */
  name: string;
  pid: number;
  /** Everything it printed so far (pino JSON lines), the last 2 MB at most. */
  output(): string;
  /** How much it printed so far in all, for `waitFor(…, from)`. */
  printed(): number;
  /**
   * Resolves once its output (since `from`, a `printed()` taken earlier) matches `pattern`; rejects with its
   * output when it exits first or `timeoutMs` pass.
   */
  waitFor(pattern: RegExp, options?: { timeoutMs?: number; from?: number }): Promise<void>;
  running(): boolean;
  /** Sends a signal and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** `signal` (SIGTERM), SIGKILL after `graceMs`; resolves with how it ended. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Starts `node <repo>/<main>` with exactly `env` (plus PATH). */
export function startServiceProcess(name: string, main: string, env: Record<string, string>): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [...ARGS, join(REPO, main)], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let dropped = 0;
  const listeners = new Set<() => void>();
  const onOutput = (chunk: string) => {
    output += chunk;
    if (output.length > KEEP_OUTPUT) {
      const cut = output.length - KEEP_OUTPUT / 2;
      dropped += cut;
      output = output.slice(cut);
    }
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding('utf8').on('data', onOutput);
  child.stderr?.setEncoding('utf8').on('data', onOutput);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  void exited.then(() => {
    for (const listener of listeners) listener();
  });
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  if (child.pid === undefined) throw new Error(`${name}: could not start node ${main}`);

  return {
    name,
    pid: child.pid,
    output: () => output,
    printed: () => dropped + output.length,
    running,
    signal(signal) {
      if (running()) child.kill(signal);
    },
    waitFor(pattern, { timeoutMs = 60_000, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output.slice(Math.max(0, from - dropped)))) done(resolve);
          else if (!running())
            done(() => reject(new Error(`${name} exited before printing ${pattern}:\n${output.slice(-8_000)}`)));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(new Error(`${name} did not print ${pattern} in ${timeoutMs} ms:\n${output.slice(-8_000)}`)),
            ),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (running()) {
        child.kill(signal);
        // A frozen process (SIGSTOP) acts on the signal only once it runs again.
        child.kill('SIGCONT');
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}
