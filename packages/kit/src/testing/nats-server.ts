import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type TestNatsServer = {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGKILL models a crash) and removes its store unless `keepStore`. */
  stop(options?: { signal?: NodeJS.Signals; keepStore?: boolean }): Promise<void>;
};

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function waitUntilReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`nats-server did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts a private nats-server with JetStream on a random port and a temporary store, configured like
 * production (8 MB max payload). Pass `storeDir` to restart a server on the store of a stopped one.
 */
export async function startNatsServer(options: { storeDir?: string; port?: number } = {}): Promise<TestNatsServer> {
  const binary = process.env.AGENTPOD_NATS_SERVER_BIN ?? 'nats-server';
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'agentpod-nats-')));
  const port = options.port ?? (await freePort());
  const configFile = join(storeDir, 'nats.conf');
  await writeFile(
    configFile,
    [`listen: 127.0.0.1:${port}`, 'max_payload: 8MB', `jetstream { store_dir: ${JSON.stringify(storeDir)} }`].join(
      '\n',
    ),
  );
  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  try {
    await waitUntilReady(child, 15_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop({ signal = 'SIGTERM', keepStore = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      if (!keepStore) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
