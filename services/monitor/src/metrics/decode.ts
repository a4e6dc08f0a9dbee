import { MAX_AGENT_FRAME_BYTES, MetricsMessage, type MetricsSample } from '@agentpod/contracts';
import type { NodeSamplesTable, PodSamplesTable } from './schema.ts';

/*
 * From the bytes published on `agent.<nodeId>.metrics` to rows, or to the reason they were dropped. Pure: the
 * ingester counts the reasons and logs them, and never lets one bad message stop the others.
 */

/** Why a message (or one sampling round of it) was not stored; the keys of `metricsStats.droppedMessages`. */
export type DropReason =
  /** Larger than any valid message can be. */
  | 'too_large'
  /** Not UTF-8 JSON. */
  | 'not_json'
  /** JSON, but not a MetricsMessage. */
  | 'invalid'
  /** `nodeId` is not the node of the subject it came on (only the gateway's word counts: the subject's). */
  | 'node_mismatch'
  /** Sampling rounds (not messages) older than the raw retention, or too far ahead of our clock. */
  | 'too_old'
  | 'in_future'
  /** Messages left unstored because PostgreSQL fell behind (the oldest queued are dropped first). */
  | 'overflow';

/**
 * The gateway republishes one agent frame, itself at most MAX_AGENT_FRAME_BYTES, with the node id in front: no
 * valid message is larger (NATS's max_payload usually caps it first). A larger one is not even parsed.
 */
export const MAX_METRICS_MESSAGE_BYTES = MAX_AGENT_FRAME_BYTES + 1024;

/** A row of `node_samples` / `pod_samples` as decoded, its time still the sample's ISO text. */
export type NodeSampleRow = Omit<NodeSamplesTable, 'at'> & { at: string };
export type PodSampleRow = Omit<PodSamplesTable, 'at'> & { at: string };

export type Decoded =
  | { ok: true; nodeId: string; samples: MetricsSample[] }
  | { ok: false; reason: DropReason; detail: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The node of a subject `agent.<nodeId>.metrics`, or undefined. */
export function nodeOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 3 && parts[0] === 'agent' && parts[2] === 'metrics' && parts[1] ? parts[1] : undefined;
}

export function decodeMetricsMessage(subject: string, data: Uint8Array): Decoded {
  if (data.length > MAX_METRICS_MESSAGE_BYTES) {
    return { ok: false, reason: 'too_large', detail: `${data.length} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (error) {
    return { ok: false, reason: 'not_json', detail: (error as Error).message.slice(0, 200) };
  }
  const parsed = MetricsMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'invalid', detail: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}` };
  }
  const subjectNode = nodeOfSubject(subject);
  if (parsed.data.nodeId !== subjectNode) {
    return {
      ok: false,
      reason: 'node_mismatch',
      detail: `nodeId ${parsed.data.nodeId.slice(0, 64)} on ${subject.slice(0, 100)}`,
    };
  }
  return { ok: true, nodeId: parsed.data.nodeId, samples: parsed.data.samples };
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** One sampling round as the rows of the two raw tables. */
export function rowsOf(nodeId: string, sample: MetricsSample): { node: NodeSampleRow; pods: PodSampleRow[] } {
  const { node } = sample;
  const at = new Date(sample.at).toISOString();
  const ratios = node.disks.filter((d) => d.totalBytes > 0).map((d) => d.usedBytes / d.totalBytes);
  return {
    node: {
      node_id: nodeId,
      at,
      cpu_percent: node.cpu.total,
      memory_used_bytes: node.memory.usedBytes,
      memory_total_bytes: node.memory.totalBytes,
      swap_used_bytes: node.memory.swapUsedBytes,
      load1: node.load[0],
      net_rx: sum(node.network.map((n) => n.rxBytesPerSec)),
      net_tx: sum(node.network.map((n) => n.txBytesPerSec)),
      disk_read: sum(node.disks.map((d) => d.readBytesPerSec)),
      disk_write: sum(node.disks.map((d) => d.writeBytesPerSec)),
      disk_used_ratio: ratios.length > 0 ? Math.min(1, Math.max(...ratios)) : null,
    },
    pods: sample.containers
      // A container without AgentPod's labels belongs to no pod: nobody could ever read its series.
      .filter((c) => c.tenantId !== '' && c.podId !== '')
      .map((c) => ({
        node_id: nodeId,
        tenant_id: c.tenantId,
        pod_id: c.podId,
        container_id: c.containerId,
        at,
        cpu_percent: c.cpuPercent,
        memory_bytes: c.memoryBytes,
        memory_limit_bytes: c.memoryLimitBytes,
        net_rx: c.netRxBytesPerSec,
        net_tx: c.netTxBytesPerSec,
        blk_read: c.blockReadBytesPerSec,
        blk_write: c.blockWriteBytesPerSec,
        restarts: c.restarts,
      })),
  };
}

/** Rounds further in the future than this are refused: a node whose clock is wrong cannot be charted anyway. */
export const MAX_CLOCK_AHEAD_MS = 10 * 60_000;

/** Whether a round's time can be stored: within the raw retention and not ahead of `now` by more than the skew. */
export function sampleAge(at: string, now: Date, rawRetentionMs: number): 'ok' | 'too_old' | 'in_future' {
  const time = Date.parse(at);
  if (time > now.getTime() + MAX_CLOCK_AHEAD_MS) return 'in_future';
  if (time <= now.getTime() - rawRetentionMs) return 'too_old';
  return 'ok';
}
