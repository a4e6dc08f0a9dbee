import type { AlertView, EventEnvelope, LogLine, NodeView, PodView, Series } from '@agentpod/contracts';

/*
 * The facts gathered about a pod or a node, as the text of the data block a model reads: a head (status, alerts,
 * metrics, spec, events) and the log lines. Pure; trimming to the budget is `fitContext` (prompt.ts).
 */

export type PodFacts = {
  pod: PodView;
  /** Oldest first; null when the logs could not be read (`notes` says why). */
  logs: LogLine[] | null;
  /** Recent events of the pod, oldest first. */
  events: EventEnvelope[];
  alerts: AlertView[];
  metrics: Series | null;
  /** What could not be gathered, one sentence each. */
  notes: string[];
};

export type NodeFacts = { node: NodeView; alerts: AlertView[]; metrics: Series | null; notes: string[] };

/** The rendered context: `head` sections (events last, trimmed before the spec), and the log lines. */
export type ContextText = { title: string; head: string; events: string[]; spec: string; logs: string[] };

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${Math.round((bytes / MiB) * 10) / 10} MiB`;
const pct = (value: number) => `${Math.round(value * 10) / 10}%`;

/** min / avg / max of CPU and memory over a series; null without samples. */
export function summarizeSeries(series: Series | null): string | null {
  if (!series || series.points.length === 0) return null;
  const { points } = series;
  const avg = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const cpu = points.map((p) => p.cpuPercent);
  const memory = points.map((p) => p.memoryBytes);
  const limit = points.at(-1)?.memoryLimitBytes ?? null;
  return [
    `${points.length} samples from ${series.from} to ${series.to} (${series.resolution})`,
    `CPU: min ${pct(Math.min(...cpu))}, avg ${pct(avg(cpu))}, max ${pct(Math.max(...points.map((p) => p.cpuPercentMax)))}`,
    `memory: min ${mib(Math.min(...memory))}, avg ${mib(avg(memory))}, max ${mib(Math.max(...points.map((p) => p.memoryBytesMax)))}` +
      (limit !== null ? ` (limit ${mib(limit)})` : ''),
  ].join('\n');
}

const field = (data: unknown, key: string): unknown =>
  typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? null));

/**
 * One line per pod event (PODS and RECONCILER), the facts that explain a pod's state; never the event's whole
 * data (a PODS event carries the spec's env and encrypted secrets).
 */
export function eventLine(event: EventEnvelope): string {
  const d = event.data;
  const detail = (() => {
    switch (event.type) {
      case 'PodCreated':
      case 'PodAdopted':
        return `image ${text(field(field(d, 'spec'), 'image'))}, generation ${text(field(d, 'generation'))}`;
      case 'PodUpdated':
        return `generation ${text(field(d, 'generation'))}, image ${text(field(field(d, 'spec'), 'image'))}`;
      case 'PodAccessTokenRotated':
        return `generation ${text(field(d, 'generation'))}`;
      case 'PodDeleted':
        return `keepVolume ${text(field(d, 'keepVolume'))}`;
      case 'PodActionSucceeded': {
        const recovery = field(d, 'recovery');
        return `${text(field(d, 'action'))}${recovery ? ` (recovery: ${text(field(recovery, 'reason'))} #${text(field(recovery, 'attempt'))})` : ''}`;
      }
      case 'PodActionFailed':
        return `${text(field(d, 'action'))}: ${text(field(field(d, 'error'), 'message'))}`;
      case 'PodFailing':
        return `${text(field(d, 'summary'))}${field(d, 'lastError') ? `; last error: ${text(field(d, 'lastError'))}` : ''}`;
      case 'PodRecovered':
        return `generation ${text(field(d, 'generation'))}`;
      default:
        return '';
    }
  })();
  return `${event.occurredAt} ${event.type}${detail ? ` ${detail}` : ''}`;
}

const alertLine = (alert: AlertView) =>
  `${alert.firedAt} [${alert.state}] ${alert.severity} ${alert.kind}: ${alert.summary}` +
  (alert.resolvedAt ? ` (resolved ${alert.resolvedAt})` : '');

function common(alerts: AlertView[], metrics: Series | null, notes: string[]): string[] {
  const out: string[] = [];
  out.push('## Alerts', alerts.length > 0 ? alerts.map(alertLine).join('\n') : 'none');
  out.push('## Metrics', summarizeSeries(metrics) ?? 'no samples in the last hour');
  if (notes.length > 0) out.push('## Not available', notes.map((note) => `- ${note}`).join('\n'));
  return out;
}

export function renderPod(facts: PodFacts): ContextText {
  const { pod } = facts;
  const title = `pod ${pod.tenantId}/${pod.podId}`;
  const head = [
    `# Pod ${pod.tenantId}/${pod.podId}`,
    [
      `status: ${pod.status}${pod.message ? ` (${pod.message})` : ''}`,
      `health: ${pod.health}; desired: ${pod.desired}; generation: ${pod.generation}; restarts by the platform: ${pod.restarts}`,
      `node: ${pod.nodeName ?? pod.nodeId}; image: ${pod.image}; container: ${pod.containerId ?? 'none'}`,
      `created: ${pod.createdAt}; started: ${pod.startedAt ?? 'never'}; updated: ${pod.updatedAt}`,
      `ports: ${pod.ports.map((p) => `${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ') || 'none'}`,
    ].join('\n'),
    ...common(facts.alerts, facts.metrics, facts.notes),
  ].join('\n');
  return {
    title,
    head,
    spec: JSON.stringify(pod.spec, null, 1),
    events: facts.events.map(eventLine),
    logs: (facts.logs ?? []).map((line) => `${line.time} ${line.stream}: ${line.text}`),
  };
}

export function renderNode(facts: NodeFacts): ContextText {
  const { node } = facts;
  const title = `node ${node.name}`;
  const head = [
    `# Node ${node.name} (${node.id})`,
    [
      `status: ${node.status}; last seen: ${node.lastSeenAt ?? 'never'}; tenant: ${node.tenantId ?? 'platform pool'}`,
      `pods: ${node.pods}; memory reserved by pod limits: ${mib(node.reservedMemoryBytes)}`,
      `facts: ${node.facts ? JSON.stringify(node.facts) : 'unknown'}`,
    ].join('\n'),
    ...common(facts.alerts, facts.metrics, facts.notes),
  ].join('\n');
  return { title, head, spec: '', events: [], logs: [] };
}
