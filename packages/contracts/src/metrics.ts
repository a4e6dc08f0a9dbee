import { z } from 'zod';
import type { ApiRoute } from './api.ts';
import { PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * Metrics: the agent samples its node and every AgentPod container every AGENTPOD_METRICS_INTERVAL_SECONDS (10),
 * sends `metrics` frames to the gateway, which publishes each on core NATS `agent.<nodeId>.metrics` as a
 * MetricsMessage (the node id is the authenticated socket's, never the agent's word). The monitor consumes that
 * subject in a queue group, stores raw samples (24 h), 1-minute (30 d) and 1-hour (1 y) roll-ups, and answers
 * series queries at a resolution chosen from the range.
 *
 * Rates (bytes/s, CPU %) are computed by the agent from two consecutive readings, so the first reading after a
 * start gives no sample for that container. CPU percent is of one core (a container using two full cores: 200);
 * the node's `cpu.total` is of the whole machine (0–100).
 */

const count = z.number().int().nonnegative();
const rate = z.number().nonnegative();
const percent = z.number().min(0).max(100_000);

export const DiskSample = z.object({
  mount: z.string().max(512),
  device: z.string().max(255),
  totalBytes: count,
  usedBytes: count,
  readBytesPerSec: rate,
  writeBytesPerSec: rate,
});

export const NetworkSample = z.object({
  interface: z.string().max(64),
  rxBytesPerSec: rate,
  txBytesPerSec: rate,
});

export const NodeSample = z.object({
  cpu: z.object({ total: percent, perCore: z.array(percent).max(1024) }),
  memory: z.object({
    totalBytes: count,
    usedBytes: count,
    availableBytes: count,
    swapTotalBytes: count,
    swapUsedBytes: count,
  }),
  load: z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()]),
  disks: z.array(DiskSample).max(64),
  network: z.array(NetworkSample).max(64),
});
export type NodeSample = z.infer<typeof NodeSample>;

export const ContainerSample = z.object({
  containerId: z.string().min(1).max(128),
  tenantId: z.string().max(64),
  podId: z.string().max(64),
  cpuPercent: percent,
  memoryBytes: count,
  /** null when the container has no memory limit. */
  memoryLimitBytes: count.nullable(),
  netRxBytesPerSec: rate,
  netTxBytesPerSec: rate,
  blockReadBytesPerSec: rate,
  blockWriteBytesPerSec: rate,
  /** Docker's restart count of the container (AgentPod's own recoveries are events, not metrics). */
  restarts: count,
});
export type ContainerSample = z.infer<typeof ContainerSample>;

/** One sampling round of a node. */
export const MetricsSample = z.object({
  at: z.iso.datetime(),
  node: NodeSample,
  containers: z.array(ContainerSample).max(2_000),
});
export type MetricsSample = z.infer<typeof MetricsSample>;

/** Rounds the agent keeps while disconnected (1 hour at the default interval); older ones are dropped first. */
export const METRICS_BACKLOG_SAMPLES = 360;
/** Rounds per `metrics` frame when a backlog is sent. */
export const METRICS_SAMPLES_PER_FRAME = 30;

/** What the gateway publishes on `agent.<nodeId>.metrics`. */
export const MetricsMessage = z.object({
  nodeId: z.string().min(1).max(64),
  samples: z.array(MetricsSample).min(1).max(METRICS_SAMPLES_PER_FRAME),
});
export type MetricsMessage = z.infer<typeof MetricsMessage>;

export const MetricsRange = z.enum(['1h', '24h', '7d', '30d']);
export type MetricsRange = z.infer<typeof MetricsRange>;

/** raw ≤ 1 h, 1m ≤ 7 d… the monitor picks it: raw for 1h, 1m for 24h, 1h for 7d and 30d. */
export const MetricsResolution = z.enum(['raw', '1m', '1h']);

/** One point of a series; roll-ups carry the average (and max for CPU and memory) over their bucket. */
export const SeriesPoint = z.object({
  at: z.string(),
  cpuPercent: z.number(),
  cpuPercentMax: z.number(),
  memoryBytes: z.number(),
  memoryBytesMax: z.number(),
  /** Node: used/total of memory; pod: its limit when it has one. */
  memoryLimitBytes: z.number().nullable(),
  netRxBytesPerSec: z.number(),
  netTxBytesPerSec: z.number(),
  diskReadBytesPerSec: z.number(),
  diskWriteBytesPerSec: z.number(),
  /** Node: the fullest mount's used fraction (0–1); pod: null. */
  diskUsedRatio: z.number().nullable(),
});
export type SeriesPoint = z.infer<typeof SeriesPoint>;

export const Series = z.object({
  target: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('node'), nodeId: z.string() }),
    z.object({ kind: z.literal('pod'), tenantId: TenantId, podId: PodId }),
  ]),
  range: MetricsRange,
  resolution: MetricsResolution,
  stepSeconds: z.number().int().positive(),
  from: z.string(),
  to: z.string(),
  points: z.array(SeriesPoint),
});
export type Series = z.infer<typeof Series>;

/** The latest sample of each pod and node the caller can see (`agentpod top`). */
export const TopRow = z.object({
  kind: z.enum(['node', 'pod']),
  nodeId: z.string(),
  tenantId: z.string().nullable(),
  podId: z.string().nullable(),
  at: z.string(),
  cpuPercent: z.number(),
  memoryBytes: z.number(),
  memoryLimitBytes: z.number().nullable(),
  netRxBytesPerSec: z.number(),
  netTxBytesPerSec: z.number(),
});
export type TopRow = z.infer<typeof TopRow>;

/** Monitor queries of metrics (`monitor.qry.<name>`); access is checked by the monitor as well as the gateway. */
export const MetricsQueries = {
  /** A pod's series: viewer or above of the tenant; a pod's samples count only from the node it is placed on. */
  podSeries: z.object({ tenantId: TenantId, podId: PodId, nodeId: z.string(), range: MetricsRange }).strict(),
  /** A node's series: platform admin, or a member of the tenant that owns the node (the gateway checks that). */
  nodeSeries: z
    .object({
      nodeId: z.string(),
      range: MetricsRange,
      /**
       * The tenant that owns the node, as the pods service answered the gateway (NodeView.tenantId). The monitor
       * does not read PODS: a caller who is not a platform admin must be a member of this tenant.
       */
      tenantId: TenantId.optional(),
    })
    .strict(),
  top: z.object({ tenantId: TenantId.optional() }).strict(),
  /** Counters of the ingester: stored samples, dropped messages by reason (`agentpod doctor`, tests). */
  metricsStats: z.object({}).strict(),
} as const;

export const MetricsResults = {
  podSeries: Series,
  nodeSeries: Series,
  top: z.object({ rows: z.array(TopRow) }),
  metricsStats: z.object({
    storedSamples: count,
    droppedMessages: z.record(z.string(), count),
  }),
} as const satisfies Record<keyof typeof MetricsQueries, z.ZodType>;

const rangeQuery = z.object({ range: MetricsRange.default('1h') }).strict();

export const metricsRoutes = {
  podMetrics: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod/metrics',
    summary: "The pod's CPU, memory, network and disk series over a range (1h, 24h, 7d, 30d)",
    access: { tenant: 'viewer' },
    params: z.object({ tenant: TenantId, pod: PodId }),
    query: rangeQuery,
    response: Series,
  },
  nodeMetrics: {
    method: 'GET',
    path: '/api/v1/nodes/:node/metrics',
    summary: "The node's CPU, memory, network and disk series over a range (platform admin or the node's tenant)",
    access: 'signedIn',
    params: z.object({ node: z.string().min(1).max(64) }),
    query: rangeQuery,
    response: Series,
  },
  top: {
    method: 'GET',
    path: '/api/v1/top',
    summary: 'The latest sample of every node and pod the caller can see (tenant= narrows to one tenant)',
    access: 'signedIn',
    query: z.object({ tenant: TenantId.optional() }).strict(),
    response: z.object({ rows: z.array(TopRow) }),
  },
} satisfies Record<string, ApiRoute>;
