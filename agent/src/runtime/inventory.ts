import { PodLabels, podRef } from '@agentpod/contracts';
import type Docker from 'dockerode';
import type { Adoption } from '../adoption/registry.ts';
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

/**
 * An adopted container's labels as AgentPod reports them: its own, plus the `agentpod.*` ones it would carry had
 * AgentPod created it for that pod and generation (Docker cannot add labels to an existing container).
 */
export function adoptedLabels(labels: Record<string, string> | undefined, adoption: Adoption): Record<string, string> {
  return {
    ...labels,
    [PodLabels.pod]: podRef(adoption.tenantId, adoption.podId),
    [PodLabels.tenant]: adoption.tenantId,
    [PodLabels.generation]: String(adoption.generation),
    ...(adoption.nodeId === null ? {} : { [PodLabels.node]: adoption.nodeId }),
  };
}

/** The pod and generation an adopted container is reported under. */
export const ownerOf = (adoption: Adoption) => ({
  tenantId: adoption.tenantId,
  podId: adoption.podId,
  generation: adoption.generation,
});

/** `adoption`: the container is an adopted one and is reported as its pod's. */
export function toObserved(info: Docker.ContainerInspectInfo, adoption?: Adoption): ObservedContainer {
  const state = info.State;
  const status = STATES.find((s) => s === state.Status) ?? 'dead';
  const finishedAt = time(state.FinishedAt);
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    ...labelsOf(adoption ? adoptedLabels(info.Config.Labels, adoption) : info.Config.Labels),
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
