import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/*
 * The control plane's processes as `npm start` runs them (one `node <dist>/main.js` each), without the
 * supervisor's restarts: a benchmark reports a crash instead of measuring around it. Output goes straight to a
 * file (the child's own descriptors, no pipe through this process), shown when something fails.
 */

export type StackProcess = {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The last lines of its output. */
  tail(lines?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
};

export function startProcess(options: {
  name: string;
  argv: readonly [string, ...string[]];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
}): StackProcess {
  const { name, argv, logFile } = options;
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(argv[0], argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out); // the child holds its own copy
  }
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    // Only when it could not be spawned at all; `pid` is then undefined and start-up throws below.
    child.once('error', () => {
      exit = { code: null, signal: null };
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${argv.join(' ')}`);
  return {
    name,
    pid,
    logFile,
    exited: () => exit,
    async tail(lines = 20) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
    async stop(graceMs = 10_000) {
      if (exit) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Throws, with the end of its log, when one of the processes has exited. */
export async function assertAllRunning(processes: readonly StackProcess[]): Promise<void> {
  for (const proc of processes) {
    const exit = proc.exited();
    if (exit) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with ${exit.code}`;
      throw new Error(`${proc.name} ${how}; the end of ${proc.logFile}:\n${await proc.tail()}`);
    }
  }
}
