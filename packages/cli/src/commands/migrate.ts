import type { AdoptPodResult, DiscoverContainersResult, DiscoveredContainer } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { clean, EXIT, formatTable } from '../output.ts';
import { formatAge, formatPod } from './pod-format.ts';

/* `agentpod migrate`: finding containers that run without AgentPod, and adopting one as a pod. */

/** `127.0.0.1:8080→80`, `0.0.0.0:5353→53/udp`; `-` without ports. */
const portsText = (container: DiscoveredContainer) =>
  container.ports.length === 0
    ? '-'
    : container.ports
        .map((p) => `${p.hostIp}:${p.hostPort}→${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`)
        .join(', ');

/** `data:/data`, `/srv/app:/app:ro`: the mounts as `docker run -v` writes them. */
const mountsText = (container: DiscoveredContainer) =>
  container.mounts.length === 0
    ? '-'
    : container.mounts
        .map((m) => `${m.type === 'tmpfs' ? 'tmpfs' : m.source}:${m.destination}${m.readOnly ? ':ro' : ''}`)
        .join(', ');

/** The table of `migrate discover`. Pure: `now` is a parameter. */
export function formatDiscovered(result: DiscoverContainersResult, now: Date): string {
  const rows = result.containers.map((c) => [
    c.nodeName,
    c.id.slice(0, 12),
    c.name,
    c.image,
    c.state === 'running' ? `running ${formatAge(c.startedAt, now)}` : c.state,
    portsText(c),
    mountsText(c),
    c.envKeys.length === 0 ? '-' : c.envKeys.join(','),
  ]);
  const table =
    rows.length === 0
      ? 'no containers running without AgentPod\n'
      : formatTable(['node', 'container', 'name', 'image', 'state', 'ports', 'mounts', 'env'], rows);
  const missing = result.unreachable.map((n) => `node ${clean(n.nodeName)} did not answer: ${clean(n.error)}\n`);
  return table + missing.join('');
}

export function formatAdopted(result: AdoptPodResult, now: Date): string {
  return [
    `Adopted container ${result.containerId.slice(0, 12)} as pod ${clean(result.tenantId)}/${clean(result.podId)}; ` +
      'it runs on, not restarted.\n\n',
    formatPod(result, now),
    `\nAccess token (shown once; agentpod pod token shows it again to admins):\n  ${clean(result.accessToken)}\n`,
    ...(result.notes.length === 0
      ? []
      : [
          '\nRecorded differently from what runs (applies from the next generation):\n',
          ...result.notes.map((n) => `  - ${clean(n)}\n`),
        ]),
  ].join('');
}

export const migrateDiscoverCommand = defineCommand({
  path: ['migrate', 'discover'],
  summary: 'Containers running on your nodes without AgentPod, to adopt',
  options: {
    node: { type: 'string', value: 'N', description: 'only this node (name or id)' },
  },
  details:
    'Platform admins see every node; a tenant owner the tenant’s own nodes. Env values are never shown, only\n' +
    'their names.',
  async run(ctx, { options }) {
    const result = await (await ctx.client()).call(
      'discoverContainers',
      { query: options.node === undefined ? {} : { node: options.node } },
      { labels: { node: '--node' }, timeoutMs: 60_000 },
    );
    ctx.out.result(result, () => formatDiscovered(result, new Date()));
    return result.unreachable.length > 0 && result.containers.length === 0 ? EXIT.failure : EXIT.ok;
  },
});

export const migrateAdoptCommand = defineCommand({
  path: ['migrate', 'adopt'],
  summary: 'Take a running container over as a pod, without restarting it',
  args: ['container'],
  options: {
    tenant: { type: 'string', value: 'T', description: 'the tenant the pod belongs to', required: true },
    pod: { type: 'string', value: 'P', description: 'the pod id it becomes', required: true },
    node: { type: 'string', value: 'N', description: 'where it runs (name or id); else every node is asked' },
  },
  details:
    '<container> is its id, an id prefix or its name (see agentpod migrate discover). The container keeps\n' +
    'running: its desired state is recorded from what runs (image, command, env as secrets, ports, limits,\n' +
    'restart policy), its volumes and binds are kept by every later generation, and AgentPod heals it from now on.\n' +
    'Platform admins adopt on any node; a tenant owner on the tenant’s own nodes.',
  async run(ctx, { args, options }) {
    const result = await (await ctx.client()).call(
      'adoptPod',
      {
        params: { tenant: options.tenant, pod: options.pod },
        body: { container: args.container, ...(options.node === undefined ? {} : { node: options.node }) },
      },
      { labels: { tenant: '--tenant', pod: '--pod', node: '--node', container: '<container>' }, timeoutMs: 90_000 },
    );
    ctx.out.result(result, () => formatAdopted(result, new Date()));
    return EXIT.ok;
  },
});

export const migrateCommands = [migrateDiscoverCommand, migrateAdoptCommand];
