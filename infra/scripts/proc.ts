import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';

/*
 * Small process helpers for the infra scripts. Commands are always an executable plus an argument array,
 * never a shell string, so no value (a URL, a path) is ever interpreted by a shell.
 */

/** The repository root (this file is infra/scripts/proc.ts). */
export const repoRoot = resolve(import.meta.dirname, '../..');

/** A step of setting up the machine that failed: which step, which command, and what the person can do. */
export class StepError extends Error {
  readonly step: string;
  readonly command: string;
  readonly hint: string;
  constructor(step: string, command: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StepError';
    this.step = step;
    this.command = command;
    this.hint = hint;
  }
}

/** Prints one line of progress. */
export function progress(step: string, text: string): void {
  process.stdout.write(`[deps] ${step}: ${text}\n`);
}

/** Formats a failure for a person: the step, the command, its output, and what to do. */
export function describeFailure(error: unknown): string {
  if (error instanceof StepError) {
    return [
      `✗ ${error.step} failed`,
      `  command: ${error.command}`,
      ...error.message.split('\n').map((line) => `  ${line}`),
      `  what to do: ${error.hint}`,
    ].join('\n');
  }
  // A bad variable is the person's to fix, not a bug: its message is enough.
  if (error instanceof Error && error.name === 'EnvError') return `✗ ${error.message}`;
  return `✗ ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

/** Quotes an argument for display only (the commands themselves are never run through a shell). */
export const display = (file: string, args: readonly string[]): string =>
  [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');

export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion and returns its exit code and output; never throws for a non-zero exit. */
export function run(
  file: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd ?? repoRoot,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
        const spawnError = error && typeof error.code === 'string' ? `${error.message}\n` : '';
        resolvePromise({ code, stdout: String(stdout), stderr: spawnError + String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command and throws a StepError naming it when it fails. */
export async function runOrFail(
  step: string,
  file: string,
  args: readonly string[],
  hint: string,
  options: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new StepError(
      step,
      display(file, args),
      `exited with ${result.code}: ${tail(result.stderr || result.stdout)}`,
      hint,
    );
  }
  return result;
}

/** Runs a command with the terminal attached (apt-get, npm), resolving to its exit code. */
export function runAttached(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(file, args, { stdio: 'inherit', cwd: repoRoot, env });
    child.once('error', () => resolvePromise(127));
    child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

/** The last lines of some output, for error messages. */
export function tail(text: string, lines = 12): string {
  return text.trim().split('\n').slice(-lines).join('\n') || '(no output)';
}

/** Finds an executable on PATH, also looking in the sbin folders that a non-root PATH often lacks. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Whether something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    const done = (listening: boolean) => {
      socket.destroy();
      resolvePromise(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` every `intervalMs` until it holds or `timeoutMs` passes; resolves to whether it held. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Starts a long-lived daemon (nats-server, dockerd) detached from this process and its terminal, with its
 * output appended to `logFile`: it keeps running after `npm start` stops, like a system service, and a
 * Ctrl-C in the terminal does not reach it. Returns its pid and a function telling whether it has exited.
 */
export function startDaemon(
  file: string,
  args: readonly string[],
  logFile: string,
): { pid: number | undefined; exited: () => string | undefined } {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(file, args, { cwd: repoRoot, detached: true, stdio: ['ignore', fd, fd] });
  let exit: string | undefined;
  child.once('error', (error) => {
    exit = error.message;
  });
  child.once('exit', (code, signal) => {
    exit = signal ? `killed by ${signal}` : `exited with ${code}`;
  });
  child.unref();
  return { pid: child.pid, exited: () => exit };
}

/** Whether this process runs as root (apt-get, pg_ctlcluster and dockerd need it). */
export const isRoot = (): boolean => process.getuid?.() === 0;
