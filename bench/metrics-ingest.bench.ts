import { agentSubjects, type MetricsMessage, type MetricsSample } from '@agentpod/contracts';
import { runService } from '@agentpod/kit';
import { createTestDatabase, startNatsServer } from '@agentpod/kit/testing';
import { monitorService } from '@agentpod/monitor';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { defineBenchmark, median, round3, spread } from './harness.ts';

/*
 * The monitor's metrics ingester (subscribe in the queue group, JSON.parse + zod per message, queue, flush every
 * 1 s or 500 rows in one transaction with the dirty-minute marks and counters) against postgres.js inserting the
 * same rows, already built, with plain multi-row INSERTs of 500 rows into tables of the same shape and indexes.
 * The clock of the AgentPod side runs from the first publish until the monitor's `stored` counter shows every
 * row; the messages are encoded before the clock starts (that is the gateway's work, not the monitor's).
 */

const NODES = 50;
const CONTAINERS = 20;
const MESSAGES = 1_500;
const ROUNDS = 3;
const ROWS_PER_MESSAGE = 1 + CONTAINERS;
const BATCH = 500;

const nodeId = (n: number) => `nod_bench${String(n).padStart(16, '0')}`;

function sampleAt(at: Date, seed: number): MetricsSample {
  return {
    at: at.toISOString(),
    node: {
      cpu: { total: seed % 100, perCore: [seed % 100, 1, 2, 3] },
      memory: { totalBytes: 8e9, usedBytes: 2e9 + seed, availableBytes: 6e9, swapTotalBytes: 0, swapUsedBytes: 0 },
      load: [0.5, 0.4, 0.3],
      disks: [
        { mount: '/', device: 'sda1', totalBytes: 1e11, usedBytes: 4e10, readBytesPerSec: 10, writeBytesPerSec: 20 },
      ],
      network: [{ interface: 'eth0', rxBytesPerSec: 1000 + seed, txBytesPerSec: 500 }],
    },
    containers: Array.from({ length: CONTAINERS }, (_, c) => ({
      containerId: `${'c'.repeat(56)}${String(c).padStart(8, '0')}`,
      tenantId: `tenant-${c % 5}`,
      podId: `pod-${c}`,
      cpuPercent: (seed + c) % 200,
      memoryBytes: 1e8 + c,
      memoryLimitBytes: c % 3 === 0 ? null : 5e8,
      netRxBytesPerSec: 100 + c,
      netTxBytesPerSec: 50 + c,
      blockReadBytesPerSec: 0,
      blockWriteBytesPerSec: c,
      restarts: 0,
    })),
  };
}

/** One round: MESSAGES messages, each one node's sampling round; node n's k-th round at start + 10 s·k. */
function roundMessages(start: number): MetricsMessage[] {
  return Array.from({ length: MESSAGES }, (_, i) => ({
    nodeId: nodeId(i % NODES),
    samples: [sampleAt(new Date(start + Math.floor(i / NODES) * 10_000), i)],
  }));
}

/** The rows the ingester stores for a message, built the way a hand-written importer would. */
function rowsOf(messages: readonly MetricsMessage[]) {
  const nodes: Record<string, unknown>[] = [];
  const pods: Record<string, unknown>[] = [];
  for (const { nodeId: node, samples } of messages) {
    for (const s of samples) {
      nodes.push({
        node_id: node,
        at: s.at,
        cpu_percent: s.node.cpu.total,
        memory_used_bytes: s.node.memory.usedBytes,
        memory_total_bytes: s.node.memory.totalBytes,
        swap_used_bytes: s.node.memory.swapUsedBytes,
        load1: s.node.load[0],
        net_rx: s.node.network[0]?.rxBytesPerSec ?? 0,
        net_tx: s.node.network[0]?.txBytesPerSec ?? 0,
        disk_read: s.node.disks[0]?.readBytesPerSec ?? 0,
        disk_write: s.node.disks[0]?.writeBytesPerSec ?? 0,
        disk_used_ratio: 0.4,
      });
      for (const c of s.containers) {
        pods.push({
          node_id: node,
          tenant_id: c.tenantId,
          pod_id: c.podId,
          container_id: c.containerId,
          at: s.at,
          cpu_percent: c.cpuPercent,
          memory_bytes: c.memoryBytes,
          memory_limit_bytes: c.memoryLimitBytes,
          net_rx: c.netRxBytesPerSec,
          net_tx: c.netTxBytesPerSec,
          blk_read: c.blockReadBytesPerSec,
          blk_write: c.blockWriteBytesPerSec,
          restarts: c.restarts,
        });
      }
    }
  }
  return { nodes, pods };
}

export default defineBenchmark({
  name: 'metrics-ingest',
  description: 'monitor metrics ingester (NATS → parse → batched INSERT) vs raw multi-row INSERTs, rows stored/s',
  target: { ratio: '>=', value: 0.5 },
  async run({ defer, log, signal }) {
    const nats = await startNatsServer();
    defer(() => nats.stop());
    const db = await createTestDatabase('agentpod_bench_metrics');
    defer(() => db.drop());
    const monitor = await runService(monitorService, {
      env: {
        AGENTPOD_NATS_URL: nats.url,
        AGENTPOD_DATABASE_URL: db.url,
        AGENTPOD_LOG_LEVEL: 'warn',
        AGENTPOD_STATE_DIR: `/tmp/agentpod-bench-metrics-${process.pid}`,
        AGENTPOD_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      },
    });
    defer(() => monitor.stop());
    const publisher = await connect({ servers: nats.url });
    defer(() => publisher.close());
    const sql = postgres(db.url, { max: 2, onnotice: () => {} });
    defer(() => sql.end({ timeout: 5 }));
    // The baseline's tables: the same columns and indexes (unique key, BRIN) as the monitor's.
    await sql`create table raw_node_samples (like monitor.node_samples including all)`;
    await sql`create table raw_pod_samples (like monitor.pod_samples including all)`;

    const stored = async () =>
      Number((await sql`select value from monitor.metrics_counters where name = 'stored'`)[0]?.value ?? 0);
    const ingester = async (messages: readonly MetricsMessage[]) => {
      const encoded = messages.map((m) => ({ subject: agentSubjects.metrics(m.nodeId), data: JSON.stringify(m) }));
      const target = (await stored()) + messages.length * ROWS_PER_MESSAGE;
      const started = performance.now();
      for (const { subject, data } of encoded) publisher.publish(subject, data);
      await publisher.flush();
      while ((await stored()) < target) {
        if (signal.aborted) throw new Error('interrupted');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return (messages.length * ROWS_PER_MESSAGE * 1000) / (performance.now() - started);
    };
    const baseline = async (messages: readonly MetricsMessage[]) => {
      const { nodes, pods } = rowsOf(messages);
      const started = performance.now();
      for (const [table, rows] of [
        ['raw_node_samples', nodes],
        ['raw_pod_samples', pods],
      ] as const) {
        for (let i = 0; i < rows.length; i += BATCH) {
          await sql`insert into ${sql(table)} ${sql(rows.slice(i, i + BATCH))}`;
        }
      }
      return ((nodes.length + pods.length) * 1000) / (performance.now() - started);
    };

    // Rounds use distinct times (a repeated row would be skipped, not stored), all within the raw retention.
    const startOf = (round: number) => Date.now() - 3 * 3_600_000 + round * 600_000;
    await ingester(roundMessages(startOf(0)).slice(0, 200));
    await baseline(roundMessages(startOf(0)).slice(0, 200));
    const ours: number[] = [];
    const raw: number[] = [];
    for (let round = 1; round <= ROUNDS && !signal.aborted; round++) {
      const messages = roundMessages(startOf(round));
      const sides = [async () => ours.push(await ingester(messages)), async () => raw.push(await baseline(messages))];
      for (const side of round % 2 === 1 ? sides : sides.reverse()) await side();
      log(
        `round ${round}/${ROUNDS}: ingester ${Math.round(ours.at(-1) ?? 0)} rows/s, raw ${Math.round(raw.at(-1) ?? 0)} rows/s`,
      );
    }
    if (signal.aborted) throw new Error('interrupted');
    const value = median(ours);
    const base = median(raw);
    return {
      value: Math.round(value),
      unit: 'rows/s',
      baseline: Math.round(base),
      ratio: round3(value / base),
      notes:
        `median of ${ROUNDS} alternating rounds of ${MESSAGES} MetricsMessages (${NODES} nodes, 1 round of ` +
        `${CONTAINERS} containers each: ${MESSAGES * ROWS_PER_MESSAGE} rows) published on a private nats-server ` +
        `and stored by the monitor (timed until its stored counter shows them all), vs the same rows pre-built ` +
        `and inserted by awaited ${BATCH}-row multi-row INSERTs into tables with the same indexes; ingester ` +
        `${spread(ours)} rows/s, raw ${spread(raw)} rows/s`,
    };
  },
});
