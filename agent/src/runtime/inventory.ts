import { PodLabels } from '@agentpod/contracts';
import type Docker from 'dockerode';
import type { ContainerState, ObservedContainer, ObservedPort } from './types.ts';

/* Mapping Docker's inspect output to the agent's inventory. Pure. */

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
/** Docker writes the zero time for "never". */
const time = (value: string | undefined) => (!value || value.startsWith('0001-') ? null : value);

export function labelsOf(labels: Record<string, string> | undefined) {
  const all = labels ?? {};
  const [, podId = ''] = (all[PodLabels.pod] ?? '').split('/');
  const generation = Number(all[PodLabels.generation]);
  return {
    tenantId: all[PodLabels.tenant] ?? '',
    podId,
    generation: Number.isSafeInteger(generation) ? generation : 0,
    labels: all,
  };
}

function portsOf(bindings: Docker.HostConfig['PortBindings']): ObservedPort[] {
  const ports: ObservedPort[] = [];
  for (const [key, hosts] of Object.entries(
    (bindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[]>,
  )) {
    const [port = '', protocol] = key.split('/');
    for (const host of hosts ?? [])
      ports.push({
        containerPort: Number(port),
        protocol: protocol === 'udp' ? 'udp' : 'tcp',
        hostIp: host.HostIp || '0.0.0.0',
        hostPort: Number(host.HostPort),
      });
  }
  return ports.sort((a, b) => a.hostPort - b.hostPort);
}

export function toObserved(info: Docker.ContainerInspectInfo): ObservedContainer {
  const state = info.State;
  const status = STATES.find((s) => s === state.Status) ?? 'dead';
  const finishedAt = time(state.FinishedAt);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    ...labelsOf(info.Config.Labels),
    image: info.Config.Image,
    imageId: info.Image,
    state: status,
    pid: state.Pid > 0 ? state.Pid : null,
    exitCode: finishedAt && !state.Running ? state.ExitCode : null,
    oomKilled: state.OOMKilled,
    error: state.Error || null,
    createdAt: info.Created,
    startedAt: time(state.StartedAt),
    finishedAt,
    restartCount: info.RestartCount,
    // The configured bindings, not NetworkSettings: those vanish while the container is stopped.
    ports: portsOf(info.HostConfig.PortBindings),
    // AgentPod's probe verdict is the agent's to fill in (health/overlay.ts); Docker's HEALTHCHECK is not it.
    health: null,
    volume: info.Mounts.find((mount) => mount.Type === 'volume' && mount.Name?.startsWith('agentpod-'))?.Name ?? null,
  };
}
