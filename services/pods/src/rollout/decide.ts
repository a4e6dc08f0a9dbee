import { AppError, type RolloutTarget, type RolloutTimeouts } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import {
  firstFailure,
  inFlight,
  podKey,
  type RolloutEvents,
  type RolloutPod,
  type RolloutState,
  type Started,
} from './events.ts';

type PodRef = { tenantId: string; podId: string };

/** Commands on one rollout. The runner issues every one but Start and Cancel, each after acting on the pod. */
export type RolloutCommand =
  | {
      type: 'StartRollout';
      rolloutId: string;
      tenantId: string | null;
      targets: RolloutTarget[];
      image: string;
      maxUnavailable: number;
      timeouts: RolloutTimeouts;
    }
  | ({ type: 'MarkUpgrading'; generation: number; restartsBefore: number } & PodRef)
  | ({ type: 'MarkHealthy'; generation: number } & PodRef)
  | ({ type: 'MarkFailed'; generation: number | null; reason: string; rollback: boolean } & PodRef)
  | ({ type: 'MarkRolledBack'; generation: number | null; image: string } & PodRef)
  | ({ type: 'MarkSkipped'; reason: string } & PodRef)
  | { type: 'Finish' }
  | { type: 'CancelRollout' };

type Decided = Decision<RolloutEvents>;

const ended = (state: Started) =>
  new AppError('conflict', `rollout ${state.id} has ended (${state.status}); it changes no more pods`);

function findPod(state: Started, key: PodRef): RolloutPod | AppError {
  const pod = state.pods.find((p) => podKey(p) === podKey(key));
  return pod ?? new AppError('not_found', `${podKey(key)} is not part of rollout ${state.id}`);
}

function start(command: Extract<RolloutCommand, { type: 'StartRollout' }>, state: RolloutState): Decided {
  if (state.status !== 'none') return new AppError('conflict', `rollout ${command.rolloutId} exists already`);
  if (command.targets.length === 0) return new AppError('invalid', 'a rollout needs at least one pod to upgrade');
  const keys = command.targets.map(podKey);
  const repeated = keys.find((key, index) => keys.indexOf(key) !== index);
  if (repeated) return new AppError('invalid', `${repeated} is named twice`);
  if (command.maxUnavailable < 1) return new AppError('invalid', 'maxUnavailable must be at least 1');
  const { rolloutId, tenantId, targets, image, maxUnavailable, timeouts } = command;
  if (tenantId !== null && targets.some((target) => target.tenantId !== tenantId)) {
    return new AppError('invalid', `every pod of a rollout of tenant ${tenantId} must belong to it`);
  }
  return [
    {
      type: 'RolloutStarted',
      data: { rolloutId, tenantId, targets, image, maxUnavailable, timeouts },
      ...(tenantId === null ? {} : { tenantId }),
    },
  ];
}

/** A step on one pod, valid only in the phase it follows from; repeating a step already taken changes nothing. */
function podStep(
  command: Exclude<RolloutCommand, { type: 'StartRollout' | 'Finish' | 'CancelRollout' }>,
  state: Started,
): Decided {
  const pod = findPod(state, command);
  if (pod instanceof AppError) return pod;
  const { tenantId, podId } = command;
  const ref = podKey(command);
  const wrongPhase = () => new AppError('conflict', `${ref} is ${pod.phase} in rollout ${state.id}`);
  switch (command.type) {
    case 'MarkUpgrading': {
      if (pod.phase === 'upgrading' && pod.generation === command.generation) return [];
      if (pod.phase !== 'pending') return wrongPhase();
      if (state.status !== 'running') return ended(state);
      if (firstFailure(state)) return new AppError('conflict', `rollout ${state.id} is stopping: a pod failed`);
      if (inFlight(state).length >= state.maxUnavailable) {
        return new AppError('conflict', `rollout ${state.id} has ${state.maxUnavailable} pod(s) in flight already`);
      }
      const { generation, restartsBefore } = command;
      return [{ type: 'RolloutPodUpgrading', data: { tenantId, podId, generation, restartsBefore }, tenantId }];
    }
    case 'MarkHealthy':
      if (pod.phase === 'healthy' && pod.generation === command.generation) return [];
      if (pod.phase !== 'upgrading' || pod.generation !== command.generation) return wrongPhase();
      return [{ type: 'RolloutPodHealthy', data: { tenantId, podId, generation: command.generation }, tenantId }];
    case 'MarkFailed': {
      if (pod.phase === 'failed' || pod.phase === 'rolledBack') return [];
      // A pod fails while upgrading, or before it was changed at all (its update refused): nothing to roll back.
      if (pod.phase !== 'upgrading' && pod.phase !== 'pending') return wrongPhase();
      const rollback = pod.phase === 'upgrading' && command.rollback;
      const { generation, reason } = command;
      return [{ type: 'RolloutPodFailed', data: { tenantId, podId, generation, reason, rollback }, tenantId }];
    }
    case 'MarkRolledBack':
      if (pod.phase === 'rolledBack') return [];
      if (!pod.rollbackPending) return wrongPhase();
      return [
        {
          type: 'RolloutPodRolledBack',
          data: { tenantId, podId, generation: command.generation, image: command.image },
          tenantId,
        },
      ];
    case 'MarkSkipped':
      if (pod.phase === 'skipped') return [];
      if (pod.phase !== 'pending') return wrongPhase();
      return [{ type: 'RolloutPodSkipped', data: { tenantId, podId, reason: command.reason }, tenantId }];
    default:
      return unreachable(command);
  }
}

/**
 * Ends a running rollout once nothing is in flight: failed when a pod failed (naming the first), succeeded when
 * every pod is healthy or skipped. Otherwise there is nothing to end yet.
 */
function finish(state: Started): Decided {
  if (state.status !== 'running') return [];
  if (inFlight(state).length > 0) return [];
  const failed = firstFailure(state);
  const scope = state.tenantId === null ? {} : { tenantId: state.tenantId };
  if (failed) {
    const reason = `${podKey(failed)}: ${failed.reason ?? 'failed'}`;
    return [{ type: 'RolloutFailed', data: { reason, tenantId: failed.tenantId, podId: failed.podId }, ...scope }];
  }
  if (state.pods.some((pod) => pod.phase === 'pending')) return [];
  return [{ type: 'RolloutSucceeded', data: {}, ...scope }];
}

export function decideRollout(command: RolloutCommand, state: RolloutState): Decided {
  if (command.type === 'StartRollout') return start(command, state);
  if (state.status === 'none') return new AppError('not_found', 'no such rollout');
  switch (command.type) {
    case 'Finish':
      return finish(state);
    case 'CancelRollout':
      if (state.status === 'cancelled') return [];
      if (state.status !== 'running') return ended(state);
      return [{ type: 'RolloutCancelled', data: {}, ...(state.tenantId === null ? {} : { tenantId: state.tenantId }) }];
    default:
      // Steps still in flight when a rollout ended are recorded (they are facts); nothing new starts (MarkUpgrading).
      return podStep(command, state);
  }
}
