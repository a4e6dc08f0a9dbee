import {
  AgentOps,
  type AlertView,
  agentSubjects,
  type EventEnvelope,
  MetricsResults,
  MonitorResults,
  NodeResults,
  type NodeView,
  PodResults,
  type PodView,
  podAggregateId,
  querySubject,
  type RequestMeta,
  type Series,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { recentEvents } from './events.ts';
import type { NodeFacts, PodFacts } from './render.ts';

/*
 * Gathers what the assistant is told about a pod or a node. Everything a user could read is asked for with the
 * caller's own rights (getPod, logTarget, alerts, metrics), so the assistant never shows anyone more than they
 * may see. Two things are asked for as the ai service: the pod's secret values and access token (only to remove
 * them: `podSecrets` / `podToken` accept the ai service) and the log lines from the node's agent (agents answer
 * services, not users; `logTarget` already said the caller may read them). The only agent operation this service
 * ever sends is `logs`.
 *
 * A part that cannot be had (monitor not running, agent unreachable) becomes a note in the context, not a failure.
 * Without the secret values the log lines are left out altogether: they cannot be cleaned.
 */

export type GatherDeps = { nc: NatsConnection; js: JetStreamClient; clock: () => Date };

const LOG_LINES = 100;
const EVENTS = 30;
const ALERTS = 10;
const TIMEOUT_MS = 10_000;
const EVENT_WINDOW_MS = 24 * 3_600_000;

const asService = (meta: RequestMeta): RequestMeta => ({
  actor: systemActor('ai'),
  correlationId: meta.correlationId,
  ...(meta.causationId ? { causationId: meta.causationId } : {}),
});

/** The value, or a note saying why there is none. */
async function attempt<T>(notes: string[], what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    notes.push(`${what}: ${(error as Error).message}`);
    return null;
  }
}

const ask = async <T>(deps: GatherDeps, subject: string, data: unknown, meta: RequestMeta): Promise<T> =>
  request<T>(deps.nc, subject, data, meta, { timeoutMs: TIMEOUT_MS });

/** The pod as the caller sees it (not_found / forbidden when they may not): the access check of every pod question. */
export async function readPod(deps: GatherDeps, tenantId: string, podId: string, meta: RequestMeta): Promise<PodView> {
  return PodResults.getPod.parse(await ask(deps, querySubject('pods', 'getPod'), { tenantId, podId }, meta));
}

export async function readNode(deps: GatherDeps, nodeId: string, meta: RequestMeta): Promise<NodeView> {
  return NodeResults.getNode.parse(await ask(deps, querySubject('pods', 'getNode'), { node: nodeId }, meta));
}

async function podLogs(deps: GatherDeps, pod: PodView, meta: RequestMeta) {
  const key = { tenantId: pod.tenantId, podId: pod.podId };
  const target = PodResults.logTarget.parse(await ask(deps, querySubject('pods', 'logTarget'), key, meta));
  const answer = await ask(
    deps,
    agentSubjects.command(target.nodeId, 'logs'),
    { containerId: target.containerId, tail: LOG_LINES },
    asService(meta),
  );
  return AgentOps.logs.output.parse(answer).lines;
}

/** Secret values of the pod (and its access token) to remove; throws when the secrets cannot be read. */
async function podSecretValues(deps: GatherDeps, pod: PodView, meta: RequestMeta, notes: string[]): Promise<string[]> {
  const key = { tenantId: pod.tenantId, podId: pod.podId };
  const { secrets } = PodResults.podSecrets.parse(
    await ask(deps, querySubject('pods', 'podSecrets'), key, asService(meta)),
  );
  const token = await attempt(notes, 'access token', async () =>
    PodResults.podToken.parse(await ask(deps, querySubject('pods', 'podToken'), key, asService(meta))),
  );
  return [...Object.values(secrets), ...(token ? [token.accessToken] : [])];
}

async function podEvents(deps: GatherDeps, pod: PodView): Promise<EventEnvelope[]> {
  const aggregate = podAggregateId(pod.tenantId, pod.podId);
  const since = new Date(deps.clock().getTime() - EVENT_WINDOW_MS);
  const [pods, reconciler] = await Promise.all([
    recentEvents(deps.js, 'pods', aggregate, { since, limit: EVENTS }),
    recentEvents(deps.js, 'reconciler', aggregate, { since, limit: EVENTS }),
  ]);
  return [...pods, ...reconciler]
    .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.id.localeCompare(b.id))
    .slice(-EVENTS);
}

async function alertsOf(
  deps: GatherDeps,
  tenantId: string | null,
  meta: RequestMeta,
  mine: (alert: AlertView) => boolean,
): Promise<AlertView[]> {
  const answer = await ask(
    deps,
    querySubject('monitor', 'listAlerts'),
    { ...(tenantId ? { tenantId } : {}), limit: 100 },
    meta,
  );
  return MonitorResults.listAlerts.parse(answer).alerts.filter(mine).slice(0, ALERTS).reverse();
}

export type Gathered<F> = { facts: F; secrets: string[] };

export async function gatherPod(deps: GatherDeps, pod: PodView, meta: RequestMeta): Promise<Gathered<PodFacts>> {
  const notes: string[] = [];
  const { tenantId, podId } = pod;
  const [secrets, logs, events, alerts, metrics] = await Promise.all([
    attempt(notes, 'secret values', () => podSecretValues(deps, pod, meta, notes)),
    attempt(notes, 'logs', () => podLogs(deps, pod, meta)),
    attempt(notes, 'events', () => podEvents(deps, pod)),
    attempt(notes, 'alerts', () =>
      alertsOf(deps, tenantId, meta, (a) => a.target.tenantId === tenantId && a.target.podId === podId),
    ),
    attempt(notes, 'metrics', async (): Promise<Series> => {
      const input = { tenantId, podId, nodeId: pod.nodeId, range: '1h' };
      return MetricsResults.podSeries.parse(await ask(deps, querySubject('monitor', 'podSeries'), input, meta));
    }),
  ]);
  const cleanLogs = secrets === null ? null : logs;
  if (secrets === null && logs !== null)
    notes.push('logs: left out, since the secret values to remove could not be read');
  return {
    facts: { pod, logs: cleanLogs, events: events ?? [], alerts: alerts ?? [], metrics, notes },
    secrets: secrets ?? [],
  };
}

export async function gatherNode(deps: GatherDeps, node: NodeView, meta: RequestMeta): Promise<Gathered<NodeFacts>> {
  const notes: string[] = [];
  const [alerts, metrics] = await Promise.all([
    attempt(notes, 'alerts', () => alertsOf(deps, node.tenantId, meta, (a) => a.target.nodeId === node.id)),
    attempt(notes, 'metrics', async (): Promise<Series> => {
      const input = { nodeId: node.id, range: '1h', ...(node.tenantId ? { tenantId: node.tenantId } : {}) };
      return MetricsResults.nodeSeries.parse(await ask(deps, querySubject('monitor', 'nodeSeries'), input, meta));
    }),
  ]);
  return { facts: { node, alerts: alerts ?? [], metrics, notes }, secrets: [] };
}
