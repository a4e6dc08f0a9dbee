import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

/*
 * The node agent as an operator runs it on a server: `agentpod-agent join <url> <token>`, then
 * `agentpod-agent run`, child processes started from the sources, with nothing of the developer's environment but
 * PATH and a home and state directory of their own.
 */

const MAIN = fileURLToPath(new URL('../../agent/src/main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ARGS = ['--conditions=development', '--import', 'tsx', MAIN];

export type AgentHost = {
  /** AGENTPOD_AGENT_STATE_DIR: where credential.json is kept. */
  stateDir: string;
  home: string;
  /** AGENTPOD_DOCKER_SOCKET. */
  dockerSocket: string;
};

const envOf = (host: AgentHost): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: host.home,
  AGENTPOD_AGENT_STATE_DIR: host.stateDir,
  AGENTPOD_DOCKER_SOCKET: host.dockerSocket,
  // Test images are built on this machine; a registry is never asked (and a missing image fails at once).
  AGENTPOD_AGENT_PULL: 'never',
  AGENTPOD_LOG_LEVEL: 'info',
});

export type Finished = { code: number | null; stdout: string; stderr: string };

/** `agentpod-agent <args>` to its end (killed after 30 s, so a hang fails the test rather than the run). */
export function agentCommand(host: AgentHost, args: readonly string[]): Promise<Finished> {
  const child = spawn(process.execPath, [...ARGS, ...args], { cwd: REPO, env: envOf(host), stdio: 'pipe' });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

export type RunningAgent = {
  /** The agent's process id (the node process itself: tsx runs in it as a loader). */
  pid: number;
  /** Everything it printed so far (its JSON log lines). */
  output(): string;
  /**
   * Resolves once its output matches `pattern`; rejects naming the output if it exits or `timeoutMs` pass. With
   * `from` (an `output().length` taken earlier), only what it printed since counts.
   */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP/SIGCONT to freeze and thaw it, SIGKILL to crash it). */
  signal(signal: NodeJS.Signals): void;
  /** Whether the process is still there (a stopped, frozen process is). */
  running(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after 10 s); the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/** `agentpod-agent run` in the background. */
export function runAgent(host: AgentHost): RunningAgent {
  const child: ChildProcess = spawn(process.execPath, [...ARGS, 'run'], {
    cwd: REPO,
    env: envOf(host),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onOutput = (chunk: string) => {
    output += chunk;
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding('utf8').on('data', onOutput);
  child.stderr?.setEncoding('utf8').on('data', onOutput);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => {
    for (const listener of listeners) listener();
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  return {
    pid: child.pid ?? 0,
    output: () => output,
    signal: (signal) => {
      if (running()) child.kill(signal);
    },
    running,
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output.slice(from))) done(resolve);
          else if (!running()) done(() => reject(new Error(`the agent exited before ${pattern}:\n${output}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`the agent did not print ${pattern} in ${timeoutMs} ms:\n${output}`))),
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
    async stop(signal = 'SIGTERM') {
      if (running()) {
        child.kill(signal);
        // A frozen agent (SIGSTOP) acts on the signal only once it runs again.
        child.kill('SIGCONT');
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The HTTP status the gateway answers a WebSocket upgrade of its agent socket (`/agent`) made with `credential`. */
export function agentSocketStatus(gatewayUrl: string, credential: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/agent', gatewayUrl), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        authorization: `Bearer ${credential}`,
      },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `agentpod-agent join <url> <token>` (it must succeed), then `agentpod-agent run` until it is connected. An agent
 * that does not connect is stopped before the error is thrown, so no process is left behind.
 */
export async function joinAndRun(host: AgentHost, gatewayUrl: string, joinToken: string): Promise<RunningAgent> {
  const joined = await agentCommand(host, ['join', gatewayUrl, joinToken]);
  assert.equal(joined.code, 0, joined.stderr);
  const agent = runAgent(host);
  try {
    await agent.waitFor(/connected to the control plane/);
  } catch (error) {
    await agent.stop();
    throw error;
  }
  return agent;
}
