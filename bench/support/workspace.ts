import { TerminalSocket } from '@agentpod/cli';
import { TEST_IMAGES } from '@agentpod/kit/testing';
import { type IPty, spawn as spawnPty } from 'node-pty';
import type { BenchContext } from '../harness.ts';
import { type Stack, startStack } from './stack.ts';
import { until } from './wait.ts';

/*
 * What the workspace benchmarks share: the stack (stack.ts) with one busybox pod that has a volume, an API token
 * that may open both a pod's terminal and the node's own shell, terminals through the relay, and the same work
 * done on a local node-pty in this process (the baseline).
 */

const POD = 'workspace';
const ACK_EVERY_BYTES = 64 * 1024;

export type WorkspaceBench = {
  stack: Stack;
  /** An unscoped owner token of the platform admin: pod terminals, the node shell, the file routes. */
  token: string;
  /** `/api/v1/tenants/<t>/pods/workspace`: append `/terminal`, `/files/content?path=…`. */
  podPath: string;
  /** `/api/v1/nodes/local`: append `/terminal`. */
  nodePath: string;
};

export async function startWorkspaceBench(context: BenchContext): Promise<WorkspaceBench> {
  const stack = await startStack(context);
  const { api, tenantId, track, signal } = { ...stack, signal: context.signal };
  const { token } = await api.call('createToken', { body: { name: 'workspace-bench', role: 'owner' } });
  await track(
    api.call('createPod', {
      params: { tenant: tenantId },
      body: {
        podId: POD,
        spec: { image: TEST_IMAGES.busybox, cmd: ['sleep', '1000000'], volume: { mountPath: '/data' } },
      },
    }),
  );
  await until('the workspace pod running', 60_000, signal, async () => {
    const pod = await api.call('getPod', { params: { tenant: tenantId, pod: POD } });
    return pod.status === 'running';
  });
  return { stack, token, podPath: `/api/v1/tenants/${tenantId}/pods/${POD}`, nodePath: '/api/v1/nodes/local' };
}

/** A terminal through the relay, its output handed to `onOutput` and acknowledged at once (in batches). */
export async function relayTerminal(
  bench: WorkspaceBench,
  path: string,
  command: readonly string[],
  onOutput: (bytes: Buffer) => void,
): Promise<TerminalSocket> {
  const terminal = await TerminalSocket.open({ baseUrl: bench.stack.url, path, token: bench.token });
  // Acknowledged in batches of 64 KiB (a quarter of the window), and what is left after a moment.
  let received = 0;
  let acked = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (received === acked) return;
    acked = received;
    terminal.ack(acked);
  };
  terminal.onOutput((bytes) => {
    received += bytes.length;
    onOutput(bytes);
    if (received - acked >= ACK_EVERY_BYTES) flush();
    else timer ??= setTimeout(flush, 5);
  });
  void terminal.ended.then(() => clearTimeout(timer));
  terminal.start({ cols: 120, rows: 40 }, { command, tty: true });
  await terminal.ready;
  return terminal;
}

/** The same command on a local pty (node-pty, as the agent spawns a node shell). */
export function localPty(command: readonly string[], onOutput: (bytes: Buffer) => void): IPty {
  const [file = 'cat', ...args] = command;
  // Binary output (encoding null): bytes as the pty gave them, as the relay counts them.
  const pty = spawnPty(file, args, { cols: 120, rows: 40, encoding: null } as never);
  pty.onData((data: string | Buffer) => onOutput(Buffer.isBuffer(data) ? data : Buffer.from(data)));
  return pty;
}

/**
 * Round trips of one keystroke: `send` a byte, wait until `echoed` has seen it come back. The pty's line
 * discipline echoes it (`cat` in canonical mode), so what is timed is the path, not a program. No newline is sent:
 * keep `rounds` under the 4 KiB a canonical line holds.
 */
export async function keystrokeRoundTrips(
  rounds: number,
  send: (bytes: Buffer) => void,
  subscribe: (listener: (bytes: Buffer) => void) => void,
  signal: AbortSignal,
): Promise<number[]> {
  let waiting: ((bytes: Buffer) => void) | undefined;
  subscribe((bytes) => waiting?.(bytes));
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (signal.aborted) throw new Error('interrupted');
    const key = String.fromCharCode(97 + (i % 26));
    const echoed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`keystroke ${i} not echoed in 10 s`)), 10_000);
      waiting = (bytes) => {
        if (!bytes.includes(key)) return;
        clearTimeout(timer);
        waiting = undefined;
        resolve();
      };
    });
    const started = performance.now();
    send(Buffer.from(key));
    await echoed;
    times.push(performance.now() - started);
  }
  return times;
}
