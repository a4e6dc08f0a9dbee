import type { ContainerState } from '@agentpod/contracts';
import { DEFAULT_POLICY } from './backoff.ts';
import { type Decision, gate, retryGate, type Step } from './gates.ts';
import {
  type DesiredPod,
  NO_HISTORY,
  type PlannedAction,
  type PlanPolicy,
  type PlanWait,
  type PodHistory,
  podKey,
  type SeenContainer,
} from './model.ts';
import { crashRecovery, healthyAgain, type RecoveryStep, unhealthyRecovery } from './recovery.ts';

/*
 * The planner: desired pods + observed containers + online nodes + history + now → at most one action per pod,
 * and the pods it holds back (with the time of their next try). Pure and total: the same inputs give the same
 * plan in the same order. The rules, per pod (its containers on its own node; containers elsewhere are strays):
 *
 *   node unreachable                  nothing (a node-unreachable wait; strays on online nodes may still go)
 *   failing, and healthy again / no longer wanted running      markRecovered
 *   deleted                           remove its containers, then its volume unless kept
 *   desired stopped                   remove outdated containers, then stop the current one
 *   desired running, no container     create (recreate when outdated ones must go first)
 *   outdated containers left          remove them (ports are freed before anything starts)
 *   restart requested, not honoured   restart
 *   created, or stopped by us         start
 *   ended and the restart policy says so        start, a crash recovery (with backoff)
 *   running, health check unhealthy (policy not never)       restart, an unhealthy recovery (with backoff)
 *   labelled container, no such pod   removeOrphan (volume kept)
 *
 * Then the gates (gates.ts; recovery.ts holds the streak rules): a retry of a failed action waits on the same curve from the
 * failure; a recovery waits for its backoff; and a pod wanted running whose failures reach `failingAfter` is
 * marked failing first, once per streak.
 */

export type PlanInput = {
  desired: readonly DesiredPod[];
  observed: readonly SeenContainer[];
  onlineNodes: ReadonlySet<string>;
  now: Date;
  history: ReadonlyMap<string, PodHistory>;
  policy: PlanPolicy;
};

/** One pass's plan; `wakeAt` is the earliest time a wait ends (null: none is timed). */
export type PassPlan = { actions: PlannedAction[]; waits: PlanWait[]; wakeAt: Date | null };

/** Running or about to: states a stop applies to. */
const ACTIVE: ReadonlySet<ContainerState> = new Set(['running', 'restarting', 'paused']);
const ENDED: ReadonlySet<ContainerState> = new Set(['exited', 'dead']);

export function planPass(input: PlanInput): PassPlan {
  const { desired, observed, history } = input;
  const containersByPod = groupBy(observed, (c) => podKey(c.tenantId, c.podId));
  const actions: PlannedAction[] = [];
  const waits: PlanWait[] = [];
  const take = (decision: Decision) => {
    if (decision && 'action' in decision) actions.push(decision.action);
    else if (decision) waits.push(decision.wait);
  };
  const known = new Set<string>();
  for (const pod of [...desired].sort(byPod)) {
    const key = podKey(pod.tenantId, pod.podId);
    if (known.has(key)) continue; // one row per pod in the table; a duplicate input must still not double up
    known.add(key);
    take(decidePod(pod, containersByPod.get(key) ?? [], history.get(key) ?? NO_HISTORY, input));
  }
  for (const key of [...containersByPod.keys()].sort()) {
    if (known.has(key)) continue;
    const action = planOrphan(containersByPod.get(key) ?? [], input.onlineNodes);
    if (action) take(retryGate(action, history.get(key) ?? NO_HISTORY, input.now, input.policy));
  }
  let wakeAt: string | null = null;
  for (const { until } of waits) if (until !== null && (wakeAt === null || until < wakeAt)) wakeAt = until;
  return { actions, waits, wakeAt: wakeAt === null ? null : new Date(wakeAt) };
}

/** The actions alone, for callers that act on every pod at once (`planPass` also says who waits, until when). */
export function plan(
  desired: readonly DesiredPod[],
  observed: readonly SeenContainer[],
  onlineNodes: ReadonlySet<string>,
  now: Date,
  history: ReadonlyMap<string, PodHistory>,
  policy: PlanPolicy = DEFAULT_POLICY,
): PlannedAction[] {
  return planPass({ desired, observed, onlineNodes, now, history, policy }).actions;
}

function decidePod(
  pod: DesiredPod,
  containers: readonly SeenContainer[],
  history: PodHistory,
  input: PlanInput,
): Decision {
  const { onlineNodes, now, policy } = input;
  const online = onlineNodes.has(pod.nodeId);
  const here = containers.filter((c) => c.nodeId === pod.nodeId);
  if (online && history.failing) {
    const wanted = !pod.deletion && pod.desired === 'running';
    if (!wanted || healthyAgain(primaryOf(pod, here), history.failing, policy, now.getTime()))
      return { action: { kind: 'markRecovered', ...target(pod), cause: null } };
  }
  const step = !online
    ? null
    : pod.deletion
      ? planDeleted(pod, pod.deletion, here, history)
      : planLive(pod, here, history, input);
  if (step) {
    const wanted = !pod.deletion && pod.desired === 'running';
    const ended = primaryOf(pod, here);
    const exitCode = ended && ENDED.has(ended.state) ? ended.exitCode : null;
    return gate(step, { wanted, exitCode }, history, now, policy);
  }
  // Containers of this pod on another node (it never moves today; a node restored from a backup could hold
  // one): removed once the pod itself is settled, volume untouched.
  const strays = containers.filter((c) => c.nodeId !== pod.nodeId && onlineNodes.has(c.nodeId));
  const strayNode = firstNode(strays);
  if (strayNode === undefined)
    return online ? null : { wait: { ...target(pod), reason: 'node-unreachable', until: null, attempt: 0 } };
  const remove: PlannedAction = {
    kind: 'remove',
    ...target(pod),
    nodeId: strayNode,
    remove: ids(strays.filter((c) => c.nodeId === strayNode)),
    volume: null,
    cause: null,
  };
  return retryGate(remove, history, now, policy);
}

function planDeleted(
  pod: DesiredPod,
  deletion: NonNullable<DesiredPod['deletion']>,
  here: readonly SeenContainer[],
  history: PodHistory,
): Step | null {
  const volume = deletion.keepVolume ? null : pod.volumeName;
  const cause = deletion.eventId;
  const step = (action: PlannedAction): Step => ({ action, recovery: null });
  if (here.length > 0) return step({ kind: 'remove', ...target(pod), remove: ids(here), volume, cause });
  // No container left, but the volume may be (a create that failed after making it, a removal cut short).
  if (volume !== null && history.removalDone !== cause)
    return step({ kind: 'remove', ...target(pod), remove: [], volume, cause });
  return null;
}

/** Two containers of one generation on one node only exist if made by hand: the planner works on one of them. */
function primaryOf(pod: DesiredPod, here: readonly SeenContainer[]): SeenContainer | undefined {
  // By id, so the choice does not depend on the order containers were loaded in.
  const current = here
    .filter((c) => c.generation === pod.generation)
    .sort((a, b) => compare(a.containerId, b.containerId));
  return current.find((c) => ACTIVE.has(c.state)) ?? current[0];
}

function planLive(pod: DesiredPod, here: readonly SeenContainer[], history: PodHistory, input: PlanInput): Step | null {
  // The planner never removes a current-generation container.
  const primary = primaryOf(pod, here);
  const outdated = here.filter((c) => c.generation !== pod.generation);
  const base = target(pod);
  const step = (action: PlannedAction, recovery: RecoveryStep | null = null): Step => ({ action, recovery });
  const removeOutdated = step({ kind: 'remove', ...base, remove: ids(outdated), volume: null, cause: null });

  if (pod.desired === 'stopped') {
    if (outdated.length > 0) return removeOutdated;
    if (primary && ACTIVE.has(primary.state))
      return step({ kind: 'stop', ...base, containerId: primary.containerId, cause: null });
    return null;
  }
  // Whatever (re)starts the process carries the standing restart request, so it counts as honoured.
  const cause = pod.restartRequest;
  if (!primary)
    return outdated.length > 0
      ? step({ kind: 'recreate', ...base, remove: ids(outdated), cause })
      : step({ kind: 'create', ...base, cause });
  if (outdated.length > 0) return removeOutdated;
  const { containerId } = primary;
  if (pod.restartRequest !== null && history.restartHonoured !== pod.restartRequest)
    return step({ kind: 'restart', ...base, containerId, cause, recovery: null });
  if (primary.state === 'created' || (ENDED.has(primary.state) && stoppedByUs(pod, history)))
    return step({ kind: 'start', ...base, containerId, cause, recovery: null });
  if (ENDED.has(primary.state) && policyRestarts(pod, primary)) {
    const recovery = crashRecovery(primary, history, input.policy);
    const { reason, attempt } = recovery;
    return step({ kind: 'start', ...base, containerId, cause, recovery: { reason, attempt } }, recovery);
  }
  if (primary.state === 'running' && primary.health === 'unhealthy' && pod.restartPolicy !== 'never') {
    const recovery = unhealthyRecovery(primary, history, input.policy, input.now.getTime());
    const { reason, attempt } = recovery;
    return step({ kind: 'restart', ...base, containerId, cause, recovery: { reason, attempt } }, recovery);
  }
  return null;
}

/** We stopped it (the operator asked), and now the operator wants it running: start, whatever the policy. */
function stoppedByUs(pod: DesiredPod, history: PodHistory): boolean {
  const { last } = history;
  return last?.action === 'stop' && last.ok && last.generation === pod.generation;
}

/** Whether the restart policy restarts an ended container (a crash, unless it is ours to leave). */
function policyRestarts(pod: DesiredPod, container: SeenContainer): boolean {
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
