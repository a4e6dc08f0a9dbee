import type { ContainerState } from '@agentpod/contracts';
import {
  type ActionKind,
  type DesiredPod,
  NO_HISTORY,
  type PlannedAction,
  type PlanPolicy,
  type PodHistory,
  podKey,
  type SeenContainer,
} from './model.ts';

/*
 * The planner: desired pods + observed containers + online nodes + history → at most one action per pod.
 * Pure and total: no clock, no I/O, the same inputs give the same actions in the same order. The rules, per pod
 * (its containers on its own node; containers elsewhere are strays):
 *
 *   node offline                      nothing (the pod waits; strays on online nodes may still go)
 *   deleted                           remove its containers, then its volume unless kept
 *   desired stopped                   remove outdated containers, then stop the current one
 *   desired running, no container     create (recreate when outdated ones must go first)
 *   outdated containers left          remove them (ports are freed before anything starts)
 *   restart requested, not honoured   restart
 *   created, or ended and the restart policy (or our own stop) says so   start
 *   labelled container, no such pod   removeOrphan (volume kept)
 *
 * A failed action holds the pod for `retryDelayMs` on the same generation (issue 5 turns this into a backoff).
 */

/** Running or about to: states a stop applies to. */
const ACTIVE: ReadonlySet<ContainerState> = new Set(['running', 'restarting', 'paused']);
const ENDED: ReadonlySet<ContainerState> = new Set(['exited', 'dead']);

export const DEFAULT_POLICY: PlanPolicy = { retryDelayMs: 5_000 };

export function plan(
  desired: readonly DesiredPod[],
  observed: readonly SeenContainer[],
  onlineNodes: ReadonlySet<string>,
  now: Date,
  history: ReadonlyMap<string, PodHistory>,
  policy: PlanPolicy = DEFAULT_POLICY,
): PlannedAction[] {
  const containersByPod = groupBy(observed, (c) => podKey(c.tenantId, c.podId));
  const actions: PlannedAction[] = [];
  const known = new Set<string>();
  for (const pod of [...desired].sort(byPod)) {
    const key = podKey(pod.tenantId, pod.podId);
    if (known.has(key)) continue; // one row per pod in the table; a duplicate input must still not double up
    known.add(key);
    const podHistory = history.get(key) ?? NO_HISTORY;
    const action = planPod(pod, containersByPod.get(key) ?? [], onlineNodes, podHistory);
    if (action && !held(action, podHistory, now, policy)) actions.push(action);
  }
  for (const key of [...containersByPod.keys()].sort()) {
    if (known.has(key)) continue;
    const action = planOrphan(containersByPod.get(key) ?? [], onlineNodes);
    if (action && !held(action, history.get(key) ?? NO_HISTORY, now, policy)) actions.push(action);
  }
  return actions;
}

function planPod(
  pod: DesiredPod,
  containers: readonly SeenContainer[],
  onlineNodes: ReadonlySet<string>,
  history: PodHistory,
): PlannedAction | null {
  const here = containers.filter((c) => c.nodeId === pod.nodeId);
  const action = !onlineNodes.has(pod.nodeId)
    ? null
    : pod.deletion
      ? planDeleted(pod, pod.deletion, here, history)
      : planLive(pod, here, history);
  if (action) return action;
  // Containers of this pod on another node (it never moves today; a node restored from a backup could hold
  // one): removed once the pod itself is settled, volume untouched.
  const strays = containers.filter((c) => c.nodeId !== pod.nodeId && onlineNodes.has(c.nodeId));
  const strayNode = firstNode(strays);
  if (strayNode === undefined) return null;
  return {
    kind: 'remove',
    ...target(pod),
    nodeId: strayNode,
    remove: ids(strays.filter((c) => c.nodeId === strayNode)),
    volume: null,
    cause: null,
  };
}

function planDeleted(
  pod: DesiredPod,
  deletion: NonNullable<DesiredPod['deletion']>,
  here: readonly SeenContainer[],
  history: PodHistory,
): PlannedAction | null {
  const volume = deletion.keepVolume ? null : pod.volumeName;
  const cause = deletion.eventId;
  if (here.length > 0) return { kind: 'remove', ...target(pod), remove: ids(here), volume, cause };
  // No container left, but the volume may be (a create that failed after making it, a removal cut short).
  if (volume !== null && history.removalDone !== cause)
    return { kind: 'remove', ...target(pod), remove: [], volume, cause };
  return null;
}

function planLive(pod: DesiredPod, here: readonly SeenContainer[], history: PodHistory): PlannedAction | null {
  const current = here.filter((c) => c.generation === pod.generation);
  // Two containers of one generation on one node only exist if made by hand (names are per generation): the
  // planner works on one and never removes a current-generation container.
  const primary = current.find((c) => ACTIVE.has(c.state)) ?? current[0];
  const outdated = here.filter((c) => c.generation !== pod.generation);
  const base = target(pod);
  const removeOutdated: PlannedAction = { kind: 'remove', ...base, remove: ids(outdated), volume: null, cause: null };

  if (pod.desired === 'stopped') {
    if (outdated.length > 0) return removeOutdated;
    if (primary && ACTIVE.has(primary.state))
      return { kind: 'stop', ...base, containerId: primary.containerId, cause: null };
    return null;
  }
  // Whatever (re)starts the process carries the standing restart request, so it counts as honoured.
  const cause = pod.restartRequest;
  if (!primary)
    return outdated.length > 0
      ? { kind: 'recreate', ...base, remove: ids(outdated), cause }
      : { kind: 'create', ...base, cause };
  if (outdated.length > 0) return removeOutdated;
  const { containerId } = primary;
  if (pod.restartRequest !== null && history.restartHonoured !== pod.restartRequest)
    return { kind: 'restart', ...base, containerId, cause };
  if (primary.state === 'created' || (ENDED.has(primary.state) && shouldStart(pod, primary, history)))
    return { kind: 'start', ...base, containerId, cause };
  return null;
}

/** Whether an ended container of a pod that should run is started again. */
function shouldStart(pod: DesiredPod, container: SeenContainer, history: PodHistory): boolean {
  const { last } = history;
  // We stopped it (the operator asked), and now the operator wants it running: start, whatever the policy.
  if (last?.action === 'stop' && last.ok && last.generation === pod.generation) return true;
  switch (pod.restartPolicy) {
    case 'always':
      return true;
    case 'on-failure':
      return container.exitCode !== 0;
    case 'never':
      return false;
    default: {
      const unknown: never = pod.restartPolicy;
      throw new Error(`unknown restart policy ${String(unknown)}`);
    }
  }
}

function planOrphan(containers: readonly SeenContainer[], onlineNodes: ReadonlySet<string>): PlannedAction | null {
  const reachable = containers.filter((c) => onlineNodes.has(c.nodeId));
  const nodeId = firstNode(reachable);
  const first = reachable.find((c) => c.nodeId === nodeId);
  if (nodeId === undefined || !first) return null;
  const here = reachable.filter((c) => c.nodeId === nodeId);
  return {
    kind: 'removeOrphan',
    tenantId: first.tenantId,
    podId: first.podId,
    nodeId,
    generation: Math.max(...here.map((c) => c.generation)),
    remove: ids(here),
    cause: null,
  };
}

/** Kinds that retry one another: a failed create is not retried as a start, nor a failed remove as an orphan's. */
const FAMILY: Record<ActionKind, 'run' | 'stop' | 'remove'> = {
  create: 'run',
  recreate: 'run',
  start: 'run',
  restart: 'run',
  stop: 'stop',
  remove: 'remove',
  removeOrphan: 'remove',
};

/** A failed action of the same family on the same generation holds the pod until the retry delay has passed. */
function held(action: PlannedAction, history: PodHistory, now: Date, policy: PlanPolicy): boolean {
  const { last } = history;
  if (!last || last.ok || last.generation !== action.generation) return false;
  if (FAMILY[last.action] !== FAMILY[action.kind]) return false;
  return now.getTime() - last.at.getTime() < policy.retryDelayMs;
}

const target = (pod: DesiredPod) => ({
  tenantId: pod.tenantId,
  podId: pod.podId,
  nodeId: pod.nodeId,
  generation: pod.generation,
});

const ids = (containers: readonly SeenContainer[]): string[] => containers.map((c) => c.containerId).sort();

function firstNode(containers: readonly SeenContainer[]): string | undefined {
  return containers.map((c) => c.nodeId).sort()[0];
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byPod = (a: DesiredPod, b: DesiredPod): number =>
  compare(podKey(a.tenantId, a.podId), podKey(b.tenantId, b.podId));

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
