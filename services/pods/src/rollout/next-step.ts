import type { PodView } from '@agentpod/contracts';
import { firstFailure, inFlight, podKey, type RolloutPod, type Started } from './events.ts';

/*
 * What the runner does next for one rollout, pure: from the rollout's state, what the read model shows of its pods
 * and the time. The runner carries the steps out, records each, and asks again until there is nothing to do.
 *
 *   pending ──upgrade──▶ upgrading ──healthy──▶ healthy
 *      │                     │
 *      └─skip (gone)         └─fail──▶ failed ──rollback──▶ rolledBack      (then no pod starts; finish: failed)
 */

/** What the runner sees of a pod: its view, and the generation the reconciler marked failing (if it is). */
export type ObservedPod = Pick<
  PodView,
  'tenantId' | 'podId' | 'generation' | 'desired' | 'status' | 'message' | 'health' | 'restarts' | 'startedAt'
> & { hasHealthCheck: boolean; failingGeneration: number | null };

export type Step =
  | { kind: 'upgrade'; tenantId: string; podId: string }
  | { kind: 'skip'; tenantId: string; podId: string; reason: string }
  | { kind: 'healthy'; tenantId: string; podId: string; generation: number }
  | { kind: 'fail'; tenantId: string; podId: string; generation: number; reason: string; rollback: boolean }
  | { kind: 'rollback'; tenantId: string; podId: string; image: string }
  | { kind: 'finish' };

type Verdict = { kind: 'wait' } | Extract<Step, { kind: 'healthy' | 'fail' }>;

const describe = (pod: ObservedPod) =>
  `${pod.status}${pod.message ? ` (${pod.message})` : ''}${pod.hasHealthCheck ? `, health ${pod.health}` : ''}`;

/**
 * Where an upgrading pod stands: healthy once its new generation runs and its health check says healthy (without
 * a check: it has run `settleSeconds`); failed as soon as it is unhealthy, failing, exited or failed, was healed by
 * the reconciler since the upgrade (it crashed, or its check failed), or is not healthy within `timeoutSeconds`.
 */
export function judge(rollout: Started, pod: RolloutPod, observed: ObservedPod | undefined, now: Date): Verdict {
  const { tenantId, podId } = pod;
  const generation = pod.generation ?? 0;
  const fail = (reason: string, rollback = true): Verdict => ({
    kind: 'fail',
    tenantId,
    podId,
    generation,
    reason,
    rollback,
  });
  if (!observed) return fail('the pod was deleted during the rollout', false);
  if (observed.generation > generation) {
    return fail(`the pod was changed by another update (generation ${observed.generation})`, false);
  }
  if (observed.desired === 'stopped') return fail('the pod was stopped during the rollout', false);
  // The read model has not caught up with the update yet: nothing to judge.
  if (observed.generation < generation) return { kind: 'wait' };
  if (observed.restarts > pod.restartsBefore) {
    const times = observed.restarts - pod.restartsBefore;
    return fail(`restarted ${times} time(s) by the reconciler after the upgrade (crash or failed health check)`);
  }
  // A pod marked failing before the upgrade stays so until the new generation has run healthy: not this one's fault.
  const failingNow = observed.failingGeneration !== null && observed.failingGeneration >= generation;
  if (observed.status === 'failing' && failingNow) return fail(`failing: ${observed.message ?? 'keeps failing'}`);
  if (observed.status === 'failed' || observed.status === 'exited') return fail(describe(observed));
  if (observed.status === 'running' && observed.health === 'unhealthy') return fail('its health check fails');
  if (observed.status === 'running' && isHealthy(rollout, observed, now)) {
    return { kind: 'healthy', tenantId, podId, generation };
  }
  const since = Date.parse(pod.startedAt ?? now.toISOString());
  if (now.getTime() - since >= rollout.timeouts.timeoutSeconds * 1_000) {
    return fail(`not healthy within ${rollout.timeouts.timeoutSeconds}s (last: ${describe(observed)})`);
  }
  return { kind: 'wait' };
}

function isHealthy(rollout: Started, observed: ObservedPod, now: Date): boolean {
  if (observed.hasHealthCheck) return observed.health === 'healthy';
  if (!observed.startedAt) return false;
  return now.getTime() - Date.parse(observed.startedAt) >= rollout.timeouts.settleSeconds * 1_000;
}

/**
 * The steps to take now, in order: judge the pods in flight, roll back the failed ones, then (while none has
 * failed) upgrade pending pods into the free slots, a slot freed by a pod judged healthy included (the runner
 * records that first); `finish` once nothing is in flight or left to start.
 */
export function nextSteps(rollout: Started, observed: ReadonlyMap<string, ObservedPod>, now: Date): Step[] {
  if (rollout.status !== 'running') return [];
  const steps: Step[] = [];
  let failed = firstFailure(rollout) !== undefined;
  let busy = 0;
  for (const pod of inFlight(rollout)) {
    if (pod.rollbackPending) {
      steps.push({ kind: 'rollback', tenantId: pod.tenantId, podId: pod.podId, image: pod.fromImage });
      busy++;
      continue;
    }
    const verdict = judge(rollout, pod, observed.get(podKey(pod)), now);
    if (verdict.kind === 'wait') busy++;
    else steps.push(verdict);
    if (verdict.kind === 'fail') {
      failed = true;
      // Its rollback is the next round's step: the failure is recorded first.
      busy++;
    }
  }
  if (!failed) {
    let free = rollout.maxUnavailable - busy;
    for (const pod of rollout.pods) {
      if (free <= 0) break;
      if (pod.phase !== 'pending') continue;
      const seen = observed.get(podKey(pod));
      if (!seen) steps.push({ kind: 'skip', tenantId: pod.tenantId, podId: pod.podId, reason: 'deleted' });
      else if (seen.desired === 'stopped') {
        steps.push({ kind: 'skip', tenantId: pod.tenantId, podId: pod.podId, reason: 'stopped' });
      } else {
        steps.push({ kind: 'upgrade', tenantId: pod.tenantId, podId: pod.podId });
        free--;
      }
    }
  }
  const pending = !failed && rollout.pods.some((pod) => pod.phase === 'pending');
  if (steps.length === 0 && busy === 0 && !pending) steps.push({ kind: 'finish' });
  return steps;
}
