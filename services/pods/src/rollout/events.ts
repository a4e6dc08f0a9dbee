import {
  type Actor,
  type EnvelopeOf,
  type RolloutPodPhase,
  type RolloutStatus,
  type RolloutTarget,
  type RolloutTimeouts,
  type RolloutView,
  rolloutEvents,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * The rollout aggregate (`pods.evt.rollout_<id>`): which pods move to which image, and how each one fared. The
 * runner (runner.ts) reads it to decide the next step; the `rollouts` read model keeps this same state.
 */
export type RolloutEvents = typeof rolloutEvents;
export type RolloutEvent = EnvelopeOf<RolloutEvents>;

export type RolloutPod = RolloutTarget & {
  phase: RolloutPodPhase;
  /** The generation the upgrade made. */
  generation: number | null;
  /** The pod's recoveries when its upgrade was issued: any more means the new generation crashed. */
  restartsBefore: number;
  /** Failed, and its previous image is still to be restored. */
  rollbackPending: boolean;
  rollbackGeneration: number | null;
  reason: string | null;
  startedAt: string | null;
  endedAt: string | null;
};

export type Rollout = {
  id: string;
  tenantId: string | null;
  image: string;
  maxUnavailable: number;
  timeouts: RolloutTimeouts;
  pods: RolloutPod[];
  reason: string | null;
  startedBy: Actor;
  /** The request that started it: every change the rollout makes carries it. */
  correlationId: string;
  causationId: string;
  startedAt: string;
  endedAt: string | null;
  updatedAt: string;
};

export type RolloutState = { status: 'none' } | ({ status: RolloutStatus } & Rollout);
export type Started = Exclude<RolloutState, { status: 'none' }>;

export const initialRolloutState: RolloutState = { status: 'none' };

export const podKey = (pod: { tenantId: string; podId: string }): string => `${pod.tenantId}/${pod.podId}`;

/** Pods that hold a slot: upgrading, or failed with their rollback still to do. */
export const inFlight = (rollout: Rollout): RolloutPod[] =>
  rollout.pods.filter((pod) => pod.phase === 'upgrading' || pod.rollbackPending);

/** The first pod that failed, if any: once one has, no further pod is upgraded. */
export const firstFailure = (rollout: Rollout): RolloutPod | undefined =>
  rollout.pods
    .filter((pod) => pod.phase === 'failed' || pod.phase === 'rolledBack')
    .sort((a, b) => (a.endedAt ?? '').localeCompare(b.endedAt ?? ''))[0];

function changePod(
  state: Started,
  key: { tenantId: string; podId: string },
  at: string,
  change: Partial<RolloutPod>,
): Started {
  const pods = state.pods.map((pod) => (podKey(pod) === podKey(key) ? { ...pod, ...change } : pod));
  return { ...state, pods, updatedAt: at };
}

export function evolveRollout(state: RolloutState, event: RolloutEvent): RolloutState {
  const at = event.occurredAt;
  if (event.type === 'RolloutStarted') {
    const { rolloutId, tenantId, targets, image, maxUnavailable, timeouts } = event.data;
    return {
      status: 'running',
      id: rolloutId,
      tenantId,
      image,
      maxUnavailable,
      timeouts,
      pods: targets.map((target) => ({
        ...target,
        phase: 'pending',
        generation: null,
        restartsBefore: 0,
        rollbackPending: false,
        rollbackGeneration: null,
        reason: null,
        startedAt: null,
        endedAt: null,
      })),
      reason: null,
      startedBy: event.actor,
      correlationId: event.correlationId,
      causationId: event.id,
      startedAt: at,
      endedAt: null,
      updatedAt: at,
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'RolloutPodUpgrading': {
      const { generation, restartsBefore } = event.data;
      return changePod(state, event.data, at, { phase: 'upgrading', generation, restartsBefore, startedAt: at });
    }
    case 'RolloutPodHealthy':
      return changePod(state, event.data, at, { phase: 'healthy', endedAt: at });
    case 'RolloutPodFailed': {
      const { generation, reason, rollback } = event.data;
      return changePod(state, event.data, at, {
        phase: 'failed',
        ...(generation === null ? {} : { generation }),
        reason,
        rollbackPending: rollback,
        endedAt: at,
      });
    }
    case 'RolloutPodRolledBack':
      return changePod(state, event.data, at, {
        phase: 'rolledBack',
        rollbackPending: false,
        rollbackGeneration: event.data.generation,
        endedAt: at,
      });
    case 'RolloutPodSkipped':
      return changePod(state, event.data, at, { phase: 'skipped', reason: event.data.reason, endedAt: at });
    case 'RolloutSucceeded':
      return { ...state, status: 'succeeded', endedAt: at, updatedAt: at };
    case 'RolloutFailed':
      return { ...state, status: 'failed', reason: event.data.reason, endedAt: at, updatedAt: at };
    case 'RolloutCancelled':
      return { ...state, status: 'cancelled', endedAt: at, updatedAt: at };
    default:
      return unreachable(event);
  }
}

export const rolloutAggregate: AggregateDefinition<RolloutState, RolloutEvents> = {
  context: 'pods',
  events: rolloutEvents,
  initialState: initialRolloutState,
  evolve: evolveRollout,
};

/** The API's view of a started rollout. */
export function rolloutView(state: Started): RolloutView {
  return {
    id: state.id,
    tenantId: state.tenantId,
    image: state.image,
    maxUnavailable: state.maxUnavailable,
    timeouts: state.timeouts,
    status: state.status,
    reason: state.reason,
    startedBy: state.startedBy,
    pods: state.pods.map((pod) => ({
      tenantId: pod.tenantId,
      podId: pod.podId,
      fromImage: pod.fromImage,
      fromGeneration: pod.fromGeneration,
      phase: pod.phase,
      generation: pod.generation,
      rollbackGeneration: pod.rollbackGeneration,
      reason: pod.reason,
      startedAt: pod.startedAt,
      endedAt: pod.endedAt,
    })),
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    updatedAt: state.updatedAt,
  };
}
