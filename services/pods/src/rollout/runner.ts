import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, rolloutAggregateId } from '@agentpod/contracts';
import type { LeaderLock } from '@agentpod/kit';
import { updatePod } from '../pod/update.ts';
import type { RolloutCommand } from './decide.ts';
import { onRollout, type RolloutDeps, runnerMeta } from './deps.ts';
import type { Started } from './events.ts';
import { nextSteps, type Step } from './next-step.ts';
import { observeTargets } from './observe.ts';
import { runningRolloutIds } from './read-model/queries.ts';

/*
 * Drives every running rollout to its end, in the pods service itself: a closed CLI or a restarted service leaves
 * no rollout half done. One replica leads (the kit's advisory lock); the others wait to take over. The leader
 * polls: each round reads each running rollout from the log and its pods from the read model, asks nextSteps()
 * what to do, and does it: a pod update through the service's own command path, then the step recorded on the
 * rollout. A crash between the two repeats the update, which is then a no-op (same image, same generation).
 */

const LOCK_KEY = 'pods:rollout-runner';
/** How often the leader looks at the running rollouts, and a non-leader at the lock. */
export const RUNNER_POLL_MS = 1_000;
/** Rounds of steps for one rollout per poll: enough to finish one pod and start the next without waiting. */
const ROUNDS = 8;

/** Errors a pod update may well not give next time: the step is tried again on the next poll. */
const transient = (error: unknown) =>
  error instanceof AppError && ['conflict', 'unavailable', 'timeout'].includes(error.code);

async function record(deps: RolloutDeps, rollout: Started, command: RolloutCommand): Promise<void> {
  await onRollout(deps, rollout.id, runnerMeta(rollout), command);
}

/** Gives the pod `image` (a new generation, unless it has it already); the generation and recoveries it has then. */
async function setImage(deps: RolloutDeps, rollout: Started, step: { tenantId: string; podId: string }, image: string) {
  const { tenantId, podId } = step;
  return updatePod(deps, { tenantId, podId, image }, runnerMeta(rollout, tenantId));
}

async function carryOut(deps: RolloutDeps, rollout: Started, step: Step): Promise<void> {
  switch (step.kind) {
    case 'upgrade': {
      const { tenantId, podId } = step;
      try {
        const view = await setImage(deps, rollout, step, rollout.image);
        const command = { type: 'MarkUpgrading', tenantId, podId, generation: view.generation } as const;
        await record(deps, rollout, { ...command, restartsBefore: view.restarts });
      } catch (error) {
        if (transient(error)) throw error;
        if (error instanceof AppError && error.code === 'not_found') {
          await record(deps, rollout, { type: 'MarkSkipped', tenantId, podId, reason: 'deleted' });
          return;
        }
        const reason = `the update was refused: ${(error as Error).message}`;
        await record(deps, rollout, { type: 'MarkFailed', tenantId, podId, generation: null, reason, rollback: false });
      }
      return;
    }
    case 'rollback': {
      const { tenantId, podId, image } = step;
      let generation: number | null = null;
      try {
        generation = (await setImage(deps, rollout, step, image)).generation;
      } catch (error) {
        if (transient(error)) throw error;
        // Gone (deleted) or refused: there is nothing more to restore; the log keeps why.
        deps.runtime.logger.error({ err: error, rollout: rollout.id, tenantId, podId }, 'could not roll a pod back');
      }
      await record(deps, rollout, { type: 'MarkRolledBack', tenantId, podId, generation, image });
      return;
    }
    case 'skip':
      return record(deps, rollout, {
        type: 'MarkSkipped',
        tenantId: step.tenantId,
        podId: step.podId,
        reason: step.reason,
      });
    case 'healthy':
      return record(deps, rollout, { type: 'MarkHealthy', ...pick(step), generation: step.generation });
    case 'fail': {
      const { generation, reason, rollback } = step;
      return record(deps, rollout, { type: 'MarkFailed', ...pick(step), generation, reason, rollback });
    }
    case 'finish':
      return record(deps, rollout, { type: 'Finish' });
    default: {
      const unknown: never = step;
      throw new Error(`unknown step ${JSON.stringify(unknown)}`);
    }
  }
}

const pick = (step: { tenantId: string; podId: string }) => ({ tenantId: step.tenantId, podId: step.podId });

/** Takes the steps one rollout needs now, round after round, until it waits for its pods or has ended. */
export async function advance(deps: RolloutDeps, rolloutId: string): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const { state } = await deps.rollouts.load(rolloutAggregateId(rolloutId));
    if (state.status !== 'running') return;
    const observed = await observeTargets(deps, state);
    const steps = nextSteps(state, observed, deps.runtime.clock());
    if (steps.length === 0) return;
    for (const step of steps) await carryOut(deps, state, step);
  }
}

/** One poll: advances every running rollout; one that fails to advance is tried again next time. */
export async function advanceAll(deps: RolloutDeps, signal?: AbortSignal): Promise<void> {
  for (const id of await runningRolloutIds(deps.runtime.db)) {
    if (signal?.aborted) return;
    try {
      await advance(deps, id);
    } catch (error) {
      const level = transient(error) ? 'warn' : 'error';
      deps.runtime.logger[level]({ err: error, rollout: id }, 'rollout step failed; trying again');
    }
  }
}

const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {});

/** Competes for the runner lock until stopped; while held, advances the running rollouts every poll. */
export function startRolloutRunner(deps: RolloutDeps, pollMs = RUNNER_POLL_MS): { stop: () => Promise<void> } {
  const { logger, locks } = deps.runtime;
  const stopping = new AbortController();
  const lead = async (lock: LeaderLock) => {
    const done = AbortSignal.any([stopping.signal, lock.lost]);
    logger.info('leading the rollout runner');
    try {
      while (!done.aborted) {
        await advanceAll(deps, done);
        await pause(pollMs, done);
      }
    } finally {
      await lock.release().catch(() => {});
    }
  };
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const lock = await locks.tryAcquire(LOCK_KEY);
        if (lock) await lead(lock);
      } catch (error) {
        if (!stopping.signal.aborted) logger.error({ err: error }, 'rollout runner interrupted; trying again');
      }
      await pause(pollMs, stopping.signal);
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}
