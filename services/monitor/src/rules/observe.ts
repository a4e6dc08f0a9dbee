import { type AlertRuleDefinition, type AlertTarget, podRef } from '@agentpod/contracts';
import { type Kysely, sql } from 'kysely';
import type { MonitorDb } from '../db.ts';
import type { ClusterNode, ClusterPod, ClusterSnapshot } from './cluster.ts';
import { type Observation, windowMs } from './judge.ts';

/*
 * What one rule sees at one evaluation, target by target: averages over the raw samples (node_samples,
 * pod_samples; written by the metrics ingester), restart counts (Docker's, from the samples, and the reconciler's
 * recoveries), or states from the pods service's snapshot. Targets the rule does not see at all are not listed;
 * the evaluator resolves their firing alerts.
 */

export type Observed = { target: AlertTarget; label: string; observation: Observation };

/** The pods service's snapshot, fetched at most once per evaluation; throws when it cannot be had. */
export type Snapshot = () => Promise<ClusterSnapshot>;

/** Since when each state condition has held, as this evaluator saw it (a new leader starts counting afresh). */
export class SinceTracker {
  readonly #since = new Map<string, Date>();

  since(key: string, active: boolean, now: Date): Date | null {
    if (!active) {
      this.#since.delete(key);
      return null;
    }
    const known = this.#since.get(key);
    if (known) return known;
    this.#since.set(key, now);
    return now;
  }

  /** Forgets the conditions of rules that no longer exist. */
  retain(ruleIds: ReadonlySet<string>): void {
    for (const key of this.#since.keys()) if (!ruleIds.has(key.split('|')[0] ?? '')) this.#since.delete(key);
  }
}

const podTarget = (tenantId: string, podId: string, nodeId: string | null): AlertTarget => ({
  tenantId,
  podId,
  nodeId,
});
const nodeTarget = (nodeId: string): AlertTarget => ({ tenantId: null, podId: null, nodeId });

const inScope = (rule: AlertRuleDefinition, pod: { tenantId: string; podId: string }): boolean =>
  (rule.tenantId === null || rule.tenantId === pod.tenantId) && (rule.podId === null || rule.podId === pod.podId);

async function podLevels(db: Kysely<MonitorDb>, rule: AlertRuleDefinition, from: Date, now: Date) {
  return db
    .selectFrom('pod_samples')
    .select(['tenant_id', 'pod_id'])
    .select(sql<string>`(array_agg(node_id order by at desc))[1]`.as('node_id'))
    .select(sql<number>`avg(cpu_percent)::float8`.as('cpu'))
    .select(
      sql<number | null>`avg(memory_bytes::float8 / memory_limit_bytes) filter (where memory_limit_bytes > 0)`.as(
        'memory_ratio',
      ),
    )
    .select(sql<number>`avg(memory_bytes)::float8`.as('memory_bytes'))
    .select(sql<Date>`min(at)`.as('oldest'))
    .select(sql<number>`count(*)::int`.as('samples'))
    .where('at', '>', from)
    .where('at', '<=', now)
    .$if(rule.tenantId !== null, (q) => q.where('tenant_id', '=', rule.tenantId ?? ''))
    .$if(rule.podId !== null, (q) => q.where('pod_id', '=', rule.podId ?? ''))
    .groupBy(['tenant_id', 'pod_id'])
    .execute();
}

async function nodeLevels(db: Kysely<MonitorDb>, rule: AlertRuleDefinition, from: Date, now: Date) {
  return db
    .selectFrom('node_samples')
    .select('node_id')
    .select(sql<number>`avg(cpu_percent)::float8`.as('cpu'))
    .select(sql<number | null>`avg(memory_used_bytes::float8 / nullif(memory_total_bytes, 0))`.as('memory_ratio'))
    .select(sql<number | null>`avg(disk_used_ratio)::float8`.as('disk_ratio'))
    .select(sql<Date>`min(at)`.as('oldest'))
    .select(sql<number>`count(*)::int`.as('samples'))
    .where('at', '>', from)
    .where('at', '<=', now)
    .$if(rule.nodeId !== null, (q) => q.where('node_id', '=', rule.nodeId ?? ''))
    .groupBy('node_id')
    .execute();
}

async function restartCounts(db: Kysely<MonitorDb>, rule: AlertRuleDefinition, from: Date, now: Date) {
  const docker = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('pod_samples')
        .select(['tenant_id', 'pod_id', 'container_id'])
        .select(sql<number>`max(restarts) - min(restarts)`.as('restarts'))
        .select(sql<string>`(array_agg(node_id order by at desc))[1]`.as('node_id'))
        .where('at', '>', from)
        .where('at', '<=', now)
        .$if(rule.tenantId !== null, (q) => q.where('tenant_id', '=', rule.tenantId ?? ''))
        .$if(rule.podId !== null, (q) => q.where('pod_id', '=', rule.podId ?? ''))
        .groupBy(['tenant_id', 'pod_id', 'container_id'])
        .as('c'),
    )
    .select(['c.tenant_id', 'c.pod_id'])
    .select(sql<number>`sum(c.restarts)::int`.as('restarts'))
    .select(sql<string>`max(c.node_id)`.as('node_id'))
    .groupBy(['c.tenant_id', 'c.pod_id'])
    .execute();
  const recoveries = await db
    .selectFrom('pod_recoveries')
    .select(['tenant_id', 'pod_id'])
    .select(sql<number>`count(*)::int`.as('restarts'))
    .where('at', '>', from)
    .where('at', '<=', now)
    .$if(rule.tenantId !== null, (q) => q.where('tenant_id', '=', rule.tenantId ?? ''))
    .$if(rule.podId !== null, (q) => q.where('pod_id', '=', rule.podId ?? ''))
    .groupBy(['tenant_id', 'pod_id'])
    .execute();
  const counts = new Map<string, { tenantId: string; podId: string; nodeId: string | null; restarts: number }>();
  const rows: { tenant_id: string; pod_id: string; restarts: number; node_id?: string }[] = [...docker, ...recoveries];
  for (const row of rows) {
    const key = `${row.tenant_id}/${row.pod_id}`;
    const seen = counts.get(key) ?? { tenantId: row.tenant_id, podId: row.pod_id, nodeId: null, restarts: 0 };
    seen.restarts += Number(row.restarts);
    if (row.node_id) seen.nodeId = row.node_id;
    counts.set(key, seen);
  }
  return [...counts.values()];
}

/** The pod's CPU as a percentage of its limit (or of its node's cores); raw samples are % of one core. */
function cpuOfLimit(cpu: number, pod: ClusterPod | undefined, node: ClusterNode | undefined): number {
  const cores = pod?.spec.limits?.cpus ?? node?.facts?.cpus;
  return cores ? cpu / cores : cpu;
}

async function observePods(
  db: Kysely<MonitorDb>,
  rule: AlertRuleDefinition,
  now: Date,
  snapshot: Snapshot,
): Promise<Observed[]> {
  const from = new Date(now.getTime() - windowMs(rule));
  if (rule.kind === 'restarts') {
    const counts = await restartCounts(db, rule, from, now);
    return counts.map((c) => ({
      target: podTarget(c.tenantId, c.podId, c.nodeId),
      label: podRef(c.tenantId, c.podId),
      observation: { kind: 'count', value: c.restarts },
    }));
  }
  if (rule.kind === 'cpu' || rule.kind === 'memory') {
    const rows = await podLevels(db, rule, from, now);
    if (rows.length === 0) return [];
    const { pods, nodes } = await snapshot();
    const podOf = new Map(pods.map((p) => [`${p.tenantId}/${p.podId}`, p]));
    const nodeOf = new Map(nodes.map((n) => [n.id, n]));
    return rows.flatMap((row): Observed[] => {
      const node = nodeOf.get(row.node_id);
      let value: number;
      if (rule.kind === 'cpu') value = cpuOfLimit(row.cpu, podOf.get(`${row.tenant_id}/${row.pod_id}`), node);
      else if (row.memory_ratio !== null) value = row.memory_ratio * 100;
      else if (node?.facts?.memoryBytes) value = (row.memory_bytes / node.facts.memoryBytes) * 100;
      else return [];
      return [
        {
          target: podTarget(row.tenant_id, row.pod_id, row.node_id),
          label: podRef(row.tenant_id, row.pod_id),
          observation: { kind: 'level', value, oldest: new Date(row.oldest), samples: row.samples },
        },
      ];
    });
  }
  const { pods } = await snapshot();
  return pods
    .filter((pod) => inScope(rule, pod) && pod.status !== 'deleting')
    .map((pod) => {
      const target = podTarget(pod.tenantId, pod.podId, pod.nodeId);
      const label = podRef(pod.tenantId, pod.podId);
      const wantsRunning = pod.desired === 'running';
      const message = pod.message ? `: ${pod.message}` : '';
      let active: boolean;
      let detail: string;
      if (rule.kind === 'pod-down') {
        active = wantsRunning && pod.status !== 'running';
        detail = active ? `should run but is ${pod.status}${message}` : `is ${pod.status}`;
      } else if (rule.kind === 'pod-failing') {
        active = pod.status === 'failing';
        detail = active ? `is failing${message}` : `is ${pod.status}`;
      } else {
        active = wantsRunning && pod.health === 'unhealthy';
        detail = active ? 'health check failing' : `health ${pod.health}`;
      }
      return { target, label, observation: { kind: 'state', active, since: null, detail } };
    });
}

async function observeNodes(
  db: Kysely<MonitorDb>,
  rule: AlertRuleDefinition,
  now: Date,
  snapshot: Snapshot,
): Promise<Observed[]> {
  const names = async (): Promise<Map<string, ClusterNode>> => {
    try {
      return new Map((await snapshot()).nodes.map((n) => [n.id, n]));
    } catch {
      return new Map(); // names are a courtesy: node levels need nothing from the pods service
    }
  };
  if (rule.kind === 'node-unreachable') {
    const { nodes } = await snapshot();
    return nodes
      .filter(
        (n) => (rule.nodeId === null || n.id === rule.nodeId) && (n.status === 'online' || n.status === 'unreachable'),
      )
      .map((n) => {
        const active = n.status === 'unreachable';
        const seen = n.lastSeenAt ? `, last seen ${n.lastSeenAt}` : '';
        return {
          target: nodeTarget(n.id),
          label: `node ${n.name}`,
          observation: {
            kind: 'state',
            active,
            since: active && n.lastSeenAt ? new Date(n.lastSeenAt) : null,
            detail: active ? `unreachable${seen}` : 'online',
          },
        };
      });
  }
  const from = new Date(now.getTime() - windowMs(rule));
  const rows = await nodeLevels(db, rule, from, now);
  if (rows.length === 0) return [];
  const byId = await names();
  return rows.flatMap((row): Observed[] => {
    const ratio = rule.kind === 'cpu' ? row.cpu / 100 : rule.kind === 'memory' ? row.memory_ratio : row.disk_ratio;
    if (ratio === null) return [];
    return [
      {
        target: nodeTarget(row.node_id),
        label: `node ${byId.get(row.node_id)?.name ?? row.node_id}`,
        observation: { kind: 'level', value: ratio * 100, oldest: new Date(row.oldest), samples: row.samples },
      },
    ];
  });
}

export function observe(
  db: Kysely<MonitorDb>,
  rule: AlertRuleDefinition,
  now: Date,
  snapshot: Snapshot,
): Promise<Observed[]> {
  return rule.on === 'node' ? observeNodes(db, rule, now, snapshot) : observePods(db, rule, now, snapshot);
}
