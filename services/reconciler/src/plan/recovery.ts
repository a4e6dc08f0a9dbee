import type { FailingReason, RecoveryReason } from '@agentpod/contracts';
import { backoffDelay, formatDuration } from './backoff.ts';
import { type PlanPolicy, type PodHistory, type SeenContainer, STARTS_PROCESS } from './model.ts';

/*
 * The crash streak, as pure rules over one pod's container and history (times in milliseconds):
 *
 * - A recovery is attempt 1 when the pod has no streak, or when the run that ended lasted the reset period;
 *   otherwise it continues the streak (last attempt + 1). A recovery that failed as an action is the same crash
 *   tried again: attempt + 1 as well.
 * - Attempt n waits backoffDelay(n) from the crashed run's end (an unhealthy run: from its start).
 * - An observation older than our last successful (re)start may predate it (the agent's report is on its way):
 *   it is trusted only once the grace period after that start has passed.
 * - A failing pod recovers once its current container has run healthy for the reset period since it was marked,
 *   once a newer generation runs healthy, or once it is no longer wanted running.
 */

/** A recovery the pod needs: which attempt, and the earliest time it may be made. */
export type RecoveryStep = {
  reason: RecoveryReason;
  attempt: number;
  dueMs: number;
  /** For the failing mark: the crashed run's exit code, the probe's last error. */
  exitCode: number | null;
  error: string | null;
};

const time = (date: Date | null): number | null => (date === null ? null : date.getTime());

/** The recovery of an ended container (its process crashed or exited while the pod should run). */
export function crashRecovery(container: SeenContainer, history: PodHistory, policy: PlanPolicy): RecoveryStep {
  const started = time(container.startedAt);
  const finished = time(container.finishedAt);
  const ranFor = started !== null && finished !== null ? finished - started : 0;
  const attempt = nextAttempt(history, ranFor >= policy.resetAfterMs);
  const anchor = finished ?? container.observedAt.getTime();
  return {
    reason: 'crash',
    attempt,
    dueMs: Math.max(anchor + backoffDelay(attempt, policy), trustedFrom(container, history, policy, attempt)),
    exitCode: container.exitCode,
    error: null,
  };
}

/** The recovery of a running container whose health check failed: a restart. */
export function unhealthyRecovery(
  container: SeenContainer,
  history: PodHistory,
  policy: PlanPolicy,
  nowMs: number,
): RecoveryStep {
  const started = time(container.startedAt);
  const ranFor = started === null ? 0 : nowMs - started;
  const attempt = nextAttempt(history, ranFor >= policy.resetAfterMs);
  const anchor = started ?? history.recovery?.at.getTime() ?? container.observedAt.getTime();
  return {
    reason: 'unhealthy',
    attempt,
    dueMs: Math.max(anchor + backoffDelay(attempt, policy), trustedFrom(container, history, policy, attempt)),
    exitCode: null,
    error: container.healthError,
  };
}

function nextAttempt(history: PodHistory, ranLongEnough: boolean): number {
  const { last, recovery } = history;
  if (!recovery) return 1;
  // Our recovery itself failed (a Docker error): the crash it answered is still the one to heal.
  if (last && !last.ok && last.recovery) return recovery.attempt + 1;
  return ranLongEnough ? 1 : recovery.attempt + 1;
}

/**
 * From when an observation calling for a recovery is believed: at once, unless it was recorded before our last
 * successful (re)start of this generation, in which case it may show the state before that start. Then it waits
 * the grace period for a newer report, and at least the attempt's backoff from that start: the run the old report
 * cannot show ended after it, so a report that is slow to come (a loaded node) never cuts the backoff short.
 */
function trustedFrom(container: SeenContainer, history: PodHistory, policy: PlanPolicy, attempt: number): number {
  const { last } = history;
  if (!last?.ok || !STARTS_PROCESS.has(last.action) || last.generation !== container.generation) return 0;
  const lastAt = last.at.getTime();
  const wait = Math.max(policy.observeGraceMs, backoffDelay(attempt, policy));
  return container.observedAt.getTime() < lastAt ? lastAt + wait : 0;
}

/** Whether a failing pod, wanted running, is healthy again (see the rules above). */
export function healthyAgain(
  primary: SeenContainer | undefined,
  failing: NonNullable<PodHistory['failing']>,
  policy: PlanPolicy,
  nowMs: number,
): boolean {
  if (primary?.state !== 'running') return false;
  if (primary.health !== null && primary.health !== 'healthy') return false;
  if (primary.generation > failing.generation) return true;
  const healthySince = Math.max(time(primary.startedAt) ?? 0, failing.since.getTime());
  return nowMs - healthySince >= policy.resetAfterMs;
}

/** What the failing mark says: why, how often in a row, and the one sentence people read. */
export type FailingMark = {
  reason: FailingReason;
  failures: number;
  exitCode: number | null;
  lastError: string | null;
  summary: string;
};

const ERROR_IN_SUMMARY = 300;
const LAST_ERROR_MAX = 4_096;

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const nextTry = (dueMs: number, nowMs: number): string =>
  dueMs <= nowMs ? 'next try now' : `next try in ${formatDuration(dueMs - nowMs)}`;

/** The mark for a streak of failed recoveries, made when recovery `step.attempt` is the next one. */
export function recoveriesFailed(step: RecoveryStep, nowMs: number): FailingMark {
  const times = `${step.attempt} times in a row`;
  const error = step.error === null ? null : clip(step.error, LAST_ERROR_MAX);
  const what =
    step.reason === 'unhealthy'
      ? `failed its health check ${times}${error === null ? '' : ` (${clip(error, ERROR_IN_SUMMARY)})`}`
      : step.exitCode === null
        ? `ended ${times}`
        : `exited with code ${step.exitCode} ${times}`;
  return {
    reason: step.reason === 'unhealthy' ? 'unhealthy' : 'crash-loop',
    failures: step.attempt - 1,
    exitCode: step.exitCode,
    lastError: error,
    summary: `${what}; ${nextTry(step.dueMs, nowMs)}`,
  };
}

/** The mark for a streak of failed actions (Docker errors), made before the next retry. */
export function actionsFailed(
  last: NonNullable<PodHistory['last']>,
  failures: number,
  exitCode: number | null,
  dueMs: number,
  nowMs: number,
): FailingMark {
  const error = last.error === null ? null : clip(last.error, LAST_ERROR_MAX);
  return {
    reason: 'action-failed',
    failures,
    exitCode,
    lastError: error,
    summary: `${last.action} failed ${failures} times in a row${error === null ? '' : `: ${clip(error, ERROR_IN_SUMMARY)}`}; ${nextTry(dueMs, nowMs)}`,
  };
}
