import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/*
 * What `sync_interval: always` costs: JetStream publish rate with the default (fsync every 2 min) and with an
 * fsync before every acknowledgement, each on a throwaway nats-server (random port, temporary store).
 * `sync_interval` needs nats-server >= 2.10; with an older server the second run is skipped.
 *
 *   node infra/scripts/jetstream-fsync-bench.ts [--server /path/to/nats-server] [--count 2000] [--size 512]
 *
 * The store is created under $TMPDIR (default /tmp): point TMPDIR at the disk the real store lives on.
 */

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'nats-server' },
    count: { type: 'string', default: '2000' },
    size: { type: 'string', default: '512' },
    inflight: { type: 'string', default: '64' },
  },
});
const count = Number(values.count);
const payload = new Uint8Array(Number(values.size)).fill(120);
const inflight = Number(values.inflight);

function freePort(): Promise<number> {
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

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${output.trim()}`)));
  });
}

type Result = { sequentialPerSecond: number; p50Ms: number; p99Ms: number; pipelinedPerSecond: number };

async function measure(syncAlways: boolean): Promise<Result> {
  const store = await mkdtemp(join(tmpdir(), 'agentpod-fsync-bench-'));
  const port = await freePort();
  const sync = syncAlways ? '  sync_interval: always\n' : '';
  const config = join(store, 'nats.conf');
  await writeFile(
    config,
    `listen: 127.0.0.1:${port}\nmax_payload: 8MB\njetstream {\n  store_dir: "${store}"\n${sync}}\n`,
  );
  const child = spawn(values.server, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await ready(child);
    const nc = await connect({ servers: `nats://127.0.0.1:${port}` });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File });
    const js = jetstream(nc);
    for (let i = 0; i < 100; i++) await js.publish(`bench.warmup`, payload);

    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await js.publish(`bench.${i % 50}`, payload);
      latencies.push(performance.now() - t);
    }
    const sequentialMs = performance.now() - started;
    latencies.sort((a, b) => a - b);

    const pipelineStart = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await js.publish(`bench.${i % 50}`, payload);
      }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    const pipelinedMs = performance.now() - pipelineStart;
    await nc.close();
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
    return {
      sequentialPerSecond: (count / sequentialMs) * 1000,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      pipelinedPerSecond: (count / pipelinedMs) * 1000,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    await rm(store, { recursive: true, force: true });
  }
}

const version = await new Promise<string>((resolve) => {
  const child = spawn(values.server, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.once('exit', () => resolve(out.trim()));
  child.once('error', () => resolve('(not found)'));
});
process.stdout.write(`${version}, ${count} publishes of ${payload.length} B, store in ${tmpdir()}\n`);
const row = (name: string, r: Result) =>
  `${name.padEnd(24)} sequential ${r.sequentialPerSecond.toFixed(0).padStart(6)} msg/s (p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms)` +
  `   ${inflight} in flight ${r.pipelinedPerSecond.toFixed(0).padStart(6)} msg/s\n`;
process.stdout.write(row('default (2 min fsync)', await measure(false)));
try {
  process.stdout.write(row('sync_interval: always', await measure(true)));
} catch (error) {
  const message = (error as Error).message;
  if (!message.includes('unknown field "sync_interval"')) throw error;
  process.stdout.write(
    'sync_interval: always    skipped: this nats-server does not know sync_interval (needs >= 2.10)\n',
  );
}
