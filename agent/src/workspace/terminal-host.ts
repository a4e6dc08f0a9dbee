import { spawn as spawnChild } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { AppError } from '@agentpod/contracts';
import { spawn as spawnPty } from 'node-pty';
import {
  type OutputSink,
  type StartOptions,
  signalName,
  type TerminalExit,
  type TerminalProcess,
} from './terminal-process.ts';

/*
 * Terminals on the node itself: a pty through node-pty, or plain pipes for a command without a tty. The process
 * runs as the agent's user (root on a node), in its home directory, with a small clean environment: the agent's
 * own environment (its settings, anything it was started with) is none of the shell's business.
 */

const executable = (path: string) =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

/** The login shell: `shell` (the agent's $SHELL) if it can run, else /bin/bash, else /bin/sh. */
export async function hostShell(shell: string | undefined): Promise<string> {
  for (const candidate of [shell, '/bin/bash', '/bin/sh'])
    if (candidate?.startsWith('/') && (await executable(candidate))) return candidate;
  throw new AppError('unavailable', 'no shell on this node (tried $SHELL, /bin/bash and /bin/sh)');
}

/** The user's home, or `/` when it does not exist (a service account's): the shell must be able to chdir. */
const workingDirectory = (): string => {
  const home = homedir();
  return existsSync(home) ? home : '/';
};

function environment(shell: string): Record<string, string> {
  const user = userInfo();
  return {
    HOME: homedir(),
    USER: user.username,
    LOGNAME: user.username,
    SHELL: shell,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
  };
}

/** Starts a process on the host: argv `command`, or `shell -l`. */
export async function startHostProcess(
  options: StartOptions & { shell: string | undefined },
  sink: OutputSink,
): Promise<TerminalProcess> {
  const shell = await hostShell(options.shell);
  const [file, ...args] = options.command ?? [shell, '-l'];
  if (!file) throw new AppError('invalid', 'empty command');
  const env = environment(shell);
  return options.tty ? startPty(file, args, env, options, sink) : startPipes(file, args, env, sink);
}

function startPty(
  file: string,
  args: string[],
  env: Record<string, string>,
  options: StartOptions,
  sink: OutputSink,
): TerminalProcess {
  let pty: ReturnType<typeof spawnPty>;
  try {
    pty = spawnPty(file, args, {
      name: 'xterm-256color',
      cols: options.size.cols,
      rows: options.size.rows,
      cwd: workingDirectory(),
      env,
      // Bytes, not text: output is relayed as it comes, a multi-byte character split across reads included.
      encoding: null,
    });
  } catch (error) {
    throw new AppError('invalid', `cannot start ${file}: ${(error as Error).message}`, { cause: error });
  }
  // With `encoding: null` node-pty hands over Buffers, whatever its typings say.
  const data = pty.onData((chunk: string | Buffer) =>
    sink(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), 'stdout'),
  );
  const exited = new Promise<TerminalExit>((resolve) => {
    // node-pty emits exit once the pty's output has been read to its end.
    pty.onExit(({ exitCode, signal }) =>
      resolve(signal ? { code: null, signal: signalName(signal) } : { code: exitCode }),
    );
  });
  return {
    pid: pty.pid,
    exited,
    write: (bytes) => pty.write(bytes),
    endInput: () => {},
    resize: ({ cols, rows }) => {
      try {
        pty.resize(cols, rows);
      } catch {
        // The pty closed meanwhile: the exit follows.
      }
    },
    pause: () => pty.pause(),
    resume: () => pty.resume(),
    dispose: () => data.dispose(),
  };
}

function startPipes(file: string, args: string[], env: Record<string, string>, sink: OutputSink): TerminalProcess {
  const child = spawnChild(file, args, { cwd: workingDirectory(), env, stdio: 'pipe' });
  child.stdout.on('data', (chunk: Buffer) => sink(chunk, 'stdout'));
  child.stderr.on('data', (chunk: Buffer) => sink(chunk, 'stderr'));
  child.stdin.on('error', () => {}); // writing to a process that exited: its exit says the rest
  const exited = new Promise<TerminalExit>((resolve) => {
    child.on('error', (error) => {
      sink(Buffer.from(`cannot start ${file}: ${error.message}\n`), 'stderr');
      resolve({ code: 127 });
    });
    // `close`: the process exited and its stdout and stderr were read to their end.
    child.on('close', (code, signal) => resolve(signal ? { code: null, signal } : { code: code ?? null }));
  });
  return {
    pid: child.pid ?? null,
    exited,
    write: (bytes) => {
      if (child.stdin.writable) child.stdin.write(bytes);
    },
    endInput: () => child.stdin.end(),
    resize: () => {},
    pause: () => {
      child.stdout.pause();
      child.stderr.pause();
    },
    resume: () => {
      child.stdout.resume();
      child.stderr.resume();
    },
    dispose: () => {
      child.stdin.destroy();
    },
  };
}
