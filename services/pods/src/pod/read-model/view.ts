import { type ObservedContainer, PodSpec, type PodStatus, type PodView, PortBinding } from '@agentpod/contracts';
import type { Liveness } from '../../node/liveness.ts';

/** A `pods` row as the view needs it. */
export type PodRow = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  generation: number;
  desired: 'running' | 'stopped';
  spec: unknown;
  ports: unknown;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
};

/** The agent's latest health verdict on a container, and which run of it (its startedAt) it is about. */
export type HealthRow = { started_at: string | null; status: 'starting' | 'healthy' | 'unhealthy' };

/** The pod's container of its current generation, as last observed. */
export type ContainerRow = {
  container_id: string;
  state: string;
  observed: ObservedContainer;
  restarts: number;
  health?: HealthRow | undefined;
};

/** The reconciler's last action on the pod. */
export type ActionRow = { generation: number; ok: boolean; error: { code: string; message: string } | null };

/** The reconciler marked the pod failing (PodFailing) and it has not recovered since. */
export type FailingRow = { generation: number; summary: string };

export type PodFacts = {
  pod: PodRow;
  nodeName: string | null;
  node: Liveness;
  container: ContainerRow | undefined;
  action: ActionRow | undefined;
  /** Successful recoveries (crash and health restarts by the reconciler) since the pod was created. */
  recoveries: number;
  failing: FailingRow | undefined;
};

export const NODE_UNREACHABLE = 'node unreachable';

type Status = { status: PodStatus; message: string | null };

/**
 * A pod's status from what is wanted and what is observed, pure. The order of the rules matters: a pod stopped on
 * purpose reads stopped; a pod the reconciler marked failing reads failing (with its summary) until it recovers;
 * without a container, an unreachable node explains it; a failed action on the current generation explains anything
 * else (with Docker's words); then the container's own state. On an unreachable node that state is the last one
 * seen, and the message says so.
 */
export function podStatus(facts: PodFacts): Status {
  const { pod, node, container, failing } = facts;
  if (pod.deleted_at !== null) return { status: 'deleting', message: null };
  if (pod.desired === 'stopped' && container?.state !== 'running') return { status: 'stopped', message: null };
  if (failing) return { status: 'failing', message: failing.summary };
  if (!container && node.status === 'removed') return { status: 'pending', message: 'node removed' };
  if (node.status === 'online' || node.status === 'removed') return observedStatus(facts);
  if (!container) return { status: 'pending', message: NODE_UNREACHABLE };
  const last = observedStatus(facts);
  return { status: last.status, message: last.message ? `${NODE_UNREACHABLE}; ${last.message}` : NODE_UNREACHABLE };
}

function observedStatus({ pod, container, action }: PodFacts): Status {
  if (action && !action.ok && action.generation === pod.generation) {
    return { status: 'failed', message: action.error?.message ?? 'the last action failed' };
  }
  if (!container) return { status: 'pending', message: 'waiting for the node to create it' };
  switch (container.state) {
    case 'running':
      return { status: 'running', message: null };
    case 'exited':
    case 'dead': {
      const { exitCode, oomKilled, error } = container.observed;
      const why = oomKilled ? 'out of memory' : error || (exitCode === null ? null : `exit code ${exitCode}`);
      return { status: 'exited', message: why };
    }
    case 'paused':
      return { status: 'stopped', message: 'paused' };
    case 'removing':
      return { status: 'exited', message: 'being removed' };
    default:
      return { status: 'creating', message: null };
  }
}

/**
 * The pod's health, pure: `unknown` without a check or while its container does not run; otherwise the agent's
 * latest verdict on the container's current run, `starting` until there is one (a verdict about an earlier run
 * of the container, before a restart, says nothing about this one).
 */
export function podHealth(spec: PodSpec, container: ContainerRow | undefined): PodView['health'] {
  if (!spec.health || container?.state !== 'running') return 'unknown';
  const verdict = container.health;
  return verdict && verdict.started_at === container.observed.startedAt ? verdict.status : 'starting';
}

export function podView(facts: PodFacts): PodView {
  const { pod, nodeName, container } = facts;
  const spec = PodSpec.parse(pod.spec);
  const { status, message } = podStatus(facts);
  return {
    tenantId: pod.tenant_id,
    podId: pod.pod_id,
    nodeId: pod.node_id,
    nodeName,
    generation: pod.generation,
    desired: pod.desired,
    status,
    message,
    health: podHealth(spec, container),
    image: spec.image,
    ports: PortBinding.array().parse(pod.ports),
    restarts: facts.recoveries,
    containerId: container?.container_id ?? null,
    spec,
    createdAt: pod.created_at.toISOString(),
    startedAt: container?.observed.startedAt ?? null,
    updatedAt: pod.updated_at.toISOString(),
  };
}
