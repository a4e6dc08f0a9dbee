import { backoffDelay } from './backoff.ts';
import type { ActionKind, PlannedAction, PlanPolicy, PlanWait, PodHistory } from './model.ts';
import { actionsFailed, type FailingMark, type RecoveryStep, recoveriesFailed } from './recovery.ts';

/*
 * What stands between a planned action and its pod: a pod whose failures reached the threshold is marked failing
 * first; a retry of a failed action waits on the backoff curve from the failure; a recovery waits for its backoff.
 * Pure: the planner's time and policy come in as arguments.
 */

/** What the planner decides for one pod: an action, a wait, or nothing. */
export type Decision = { action: PlannedAction } | { wait: PlanWait } | null;

/** A planned step: the action, and the recovery it makes when it heals a crash or a failed health check. */
export type Step = { action: PlannedAction; recovery: RecoveryStep | null };

/**
 * The pod's step through the gates: marked failing first when its failures reach the threshold (pods wanted
 * running only, once per streak: the mark is in the history from then on), then held while a retry or a recovery
 * waits for its backoff.
 */
export function gate(
  step: Step,
  pod: { wanted: boolean; exitCode: number | null },
  history: PodHistory,
  now: Date,
  policy: PlanPolicy,
): Decision {
  const nowMs = now.getTime();
  const { action, recovery } = step;
  const retryDue = retryDueMs(action, history, policy);
  const dueMs = retryDue ?? recovery?.dueMs ?? null;
  if (pod.wanted && !history.failing) {
    let mark: FailingMark | null = null;
    const { last } = history;
    if (retryDue !== null && last && history.failures >= policy.failingAfter) {
      mark = actionsFailed(last, history.failures, pod.exitCode, retryDue, nowMs);
    } else if (recovery && recovery.attempt - 1 >= policy.failingAfter)
      mark = recoveriesFailed({ ...recovery, dueMs: dueMs ?? recovery.dueMs }, nowMs);
    if (mark) return { action: { kind: 'markFailing', ...targetOf(action), ...mark, cause: null } };
  }
  if (dueMs === null || dueMs <= nowMs) return { action };
  const reason = retryDue !== null ? 'action-backoff' : 'crash-backoff';
  const attempt = recovery?.attempt ?? history.failures + 1;
  return { wait: { ...targetOf(action), reason, until: new Date(dueMs).toISOString(), attempt } };
}

/** An orphan's or a stray's removal: only the retry gate applies. */
export function retryGate(action: PlannedAction, history: PodHistory, now: Date, policy: PlanPolicy): Decision {
  const dueMs = retryDueMs(action, history, policy);
  if (dueMs === null || dueMs <= now.getTime()) return { action };
  const until = new Date(dueMs).toISOString();
  return { wait: { ...targetOf(action), reason: 'action-backoff', until, attempt: history.failures + 1 } };
}

/** Kinds that retry one another: a failed create is not retried as a start, nor a failed remove as an orphan's. */
const FAMILY: Record<ActionKind, 'run' | 'stop' | 'remove' | 'mark'> = {
  create: 'run',
  recreate: 'run',
  start: 'run',
  restart: 'run',
  stop: 'stop',
  remove: 'remove',
  removeOrphan: 'remove',
  markFailing: 'mark',
  markRecovered: 'mark',
};

/**
 * When `action` may retry the pod's last failed action (same family, same generation): its k-th retry waits as
 * recovery attempt k + 1 would, from the failure. Null when the action is no such retry.
 */
function retryDueMs(action: PlannedAction, history: PodHistory, policy: PlanPolicy): number | null {
  const { last } = history;
  if (!last || last.ok || last.generation !== action.generation) return null;
  if (FAMILY[last.action] !== FAMILY[action.kind]) return null;
  return last.at.getTime() + backoffDelay(history.failures + 1, policy);
}

const targetOf = (action: PlannedAction) => ({
  tenantId: action.tenantId,
  podId: action.podId,
  nodeId: action.nodeId,
  generation: action.generation,
});
