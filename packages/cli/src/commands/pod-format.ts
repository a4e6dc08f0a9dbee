import { type NodeView, type PodView, podRef } from '@agentpod/contracts';
import { formatFields, formatTable, formatTime } from '../output.ts';

/* How pods and nodes read on a terminal. Pure: `now` is a parameter. */

/** `45s`, `3m`, `2h`, `5d`, as `kubectl get` writes ages. */
export function formatAge(since: string | null | undefined, now: Date): string {
  if (!since) return '-';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Binary units, as Docker and the limits count: `256Mi`, `3.8Gi`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)}${units[unit]}`;
}

/** `127.0.0.1:20001→8080`, `0.0.0.0:20002→53/udp`; `-` without ports. */
export function formatPorts(ports: PodView['ports']): string {
  if (ports.length === 0) return '-';
  return ports
    .map((p) => `${p.hostIp}:${p.hostPort}→${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`)
    .join(', ');
}

const MESSAGE_WIDTH = 48;

/** `running`, or `pending: node unreachable`; a long message (Docker's error) is cut in lists, whole in status. */
export function podStatusText(pod: PodView, full = false): string {
  if (!pod.message) return pod.status;
  const message =
    full || pod.message.length <= MESSAGE_WIDTH ? pod.message : `${pod.message.slice(0, MESSAGE_WIDTH - 1)}…`;
  return `${pod.status}: ${message}`;
}

/** `-` when the pod has no health check to report on. */
export const podHealthText = (pod: PodView): string => (pod.spec.health ? pod.health : '-');

const nodeOf = (pod: PodView) => pod.nodeName ?? pod.nodeId;

/** One table per tenant, under the tenant's name. */
export function formatPodList(pods: readonly PodView[], now: Date): string {
  const byTenant = new Map<string, PodView[]>();
  for (const pod of pods) byTenant.set(pod.tenantId, [...(byTenant.get(pod.tenantId) ?? []), pod]);
  const sections = [...byTenant.keys()].sort().map((tenant) => {
    const rows = (byTenant.get(tenant) ?? [])
      .sort((a, b) => a.podId.localeCompare(b.podId))
      .map((pod) => [
        pod.podId,
        podStatusText(pod),
        podHealthText(pod),
        nodeOf(pod),
        formatPorts(pod.ports),
        pod.restarts,
        formatAge(pod.createdAt, now),
      ]);
    const table = formatTable(['pod', 'status', 'health', 'node', 'ports', 'restarts', 'age'], rows);
    return `${tenant}\n${table.replace(/^(?=.)/gm, '  ')}`;
  });
  return sections.join('\n');
}

export function formatPod(pod: PodView, now: Date): string {
  const { spec } = pod;
  const env = Object.keys(spec.env);
  return formatFields([
    ['pod', podRef(pod.tenantId, pod.podId)],
    ['status', podStatusText(pod, true)],
    ['desired', pod.desired],
    ['health', spec.health ? `${pod.health} (${spec.health.type})` : '-'],
    ['node', pod.nodeName ? `${pod.nodeName} (${pod.nodeId})` : pod.nodeId],
    ['image', pod.image],
    ['command', spec.cmd ? JSON.stringify(spec.cmd) : '(image default)'],
    ['generation', pod.generation],
    ['ports', formatPorts(pod.ports)],
    ['env', env.length > 0 ? env.join(', ') : '-'],
    ['secrets', spec.secretNames.length > 0 ? spec.secretNames.join(', ') : '-'],
    ['volume', spec.volume?.mountPath ?? '-'],
    ['limits', `${formatBytes(spec.limits.memoryBytes)} memory, ${spec.limits.cpus} CPUs, ${spec.limits.pids} pids`],
    ['restart', spec.restart],
    ['restarts', pod.restarts],
    ['container', pod.containerId ? pod.containerId.slice(0, 12) : '-'],
    ['created', `${formatTime(pod.createdAt)} (${formatAge(pod.createdAt, now)} ago)`],
    ['started', formatTime(pod.startedAt)],
  ]);
}

/** `5s ago`, `never`. */
const lastSeen = (node: NodeView, now: Date) => (node.lastSeenAt ? `${formatAge(node.lastSeenAt, now)} ago` : 'never');

/** Reserved by the pods' limits, against the node's memory. */
const memoryText = (node: NodeView) =>
  `${formatBytes(node.reservedMemoryBytes)}/${node.facts ? formatBytes(node.facts.memoryBytes) : '?'}`;

export function formatNodeList(nodes: readonly NodeView[], now: Date): string {
  return formatTable(
    ['name', 'id', 'tenant', 'status', 'last seen', 'pods', 'memory'],
    nodes.map((n) => [n.name, n.id, n.tenantId ?? 'pool', n.status, lastSeen(n, now), n.pods, memoryText(n)]),
  );
}

export function formatNode(node: NodeView, now: Date): string {
  const facts = node.facts;
  return formatFields([
    ['name', node.name],
    ['id', node.id],
    ['owner', node.tenantId ? `tenant ${node.tenantId}` : 'platform pool'],
    ['status', node.status],
    ['last seen', node.lastSeenAt ? `${formatTime(node.lastSeenAt)} (${lastSeen(node, now)})` : 'never'],
    ['pods', node.pods],
    ['memory', `${memoryText(node)} reserved by pod limits`],
    ['hostname', facts?.hostname],
    ['os', facts ? `${facts.os} (${facts.arch})` : undefined],
    ['cpus', facts?.cpus],
    ['disk', facts ? `${formatBytes(facts.diskFreeBytes)} free of ${formatBytes(facts.diskBytes)}` : undefined],
    ['docker', facts ? (facts.dockerVersion ?? 'unreachable') : undefined],
    ['agent', facts?.agentVersion],
    ['created', formatTime(node.createdAt)],
  ]);
}
