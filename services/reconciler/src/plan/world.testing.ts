import { policyFrom } from './backoff.ts';
import {
  type DesiredPod,
  NO_HISTORY,
  type PlannedAction,
  type PlanPolicy,
  type PodHistory,
  podKey,
  type SeenContainer,
  STARTS_PROCESS,
} from './model.ts';
import { type PassPlan, plan, planPass } from './plan.ts';

/*
 * Given / when / then for the planner, and a simulated world its plans can be applied to: every action succeeds
 * and the world (containers, history) changes the way the agent and the history projection would change it.
 * Test support, not part of the service.
 */

export const NOW = new Date('2026-03-01T12:00:00.000Z');
export const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
export const OTHER_NODE = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';
/** A policy with round numbers: 1 s doubling to 60 s, reset after 10 min, failing after 3, grace 5 s. */
export const POLICY: PlanPolicy = policyFrom({
  AGENTPOD_RECONCILE_INTERVAL_MS: 5_000,
  AGENTPOD_RECONCILE_BACKOFF_BASE_MS: 1_000,
  AGENTPOD_RECONCILE_BACKOFF_CAP_MS: 60_000,
  AGENTPOD_RECONCILE_RESET_AFTER_MS: 600_000,
  AGENTPOD_RECONCILE_FAILING_AFTER: 3,
});
export const BASE_MS = POLICY.backoffBaseMs;

/** A time `ms` before NOW. */
export const ago = (ms: number): Date => new Date(NOW.getTime() - ms);

export function pod(overrides: Partial<DesiredPod> = {}): DesiredPod {
  return {
    tenantId: 'acme',
    podId: 'web',
    nodeId: NODE,
    generation: 1,
    desired: 'running',
    restartPolicy: 'always',
    restartRequest: null,
    deletion: null,
    volumeName: 'agentpod-acme_web',
    ...overrides,
  };
}

let counter = 0;
export function container(overrides: Partial<SeenContainer> = {}): SeenContainer {
  counter += 1;
  return {
    nodeId: NODE,
    containerId: `c${counter}`,
    tenantId: 'acme',
    podId: 'web',
    generation: 1,
    state: 'running',
    exitCode: null,
    startedAt: ago(60_000),
    finishedAt: null,
    health: null,
    healthError: null,
    observedAt: ago(60_000),
    ...overrides,
  };
}

/** A history with the given parts (the rest empty). */
export const historyOf = (overrides: Partial<PodHistory> = {}): PodHistory => ({ ...NO_HISTORY, ...overrides });

/** The last action, succeeded `msAgo` before NOW on generation 1 unless said otherwise. */
export function lastAction(
  action: NonNullable<PodHistory['last']>['action'],
  msAgo: number,
  overrides: Partial<NonNullable<PodHistory['last']>> = {},
): NonNullable<PodHistory['last']> {
  return { action, generation: 1, ok: true, at: ago(msAgo), error: null, recovery: false, ...overrides };
}

export type World = {
  desired: DesiredPod[];
  observed: SeenContainer[];
  history: Map<string, PodHistory>;
  online: Set<string>;
};

export function given(parts: Partial<Omit<World, 'history'>> & { history?: Record<string, PodHistory> } = {}): World {
  return {
    desired: parts.desired ?? [],
    observed: parts.observed ?? [],
    history: new Map(Object.entries(parts.history ?? {})),
    online: parts.online ?? new Set([NODE, OTHER_NODE]),
  };
}

export const when = (world: World, now = NOW, policy = POLICY): PlannedAction[] =>
  plan(world.desired, world.observed, world.online, now, world.history, policy);

export const pass = (world: World, now = NOW, policy = POLICY): PassPlan =>
  planPass({
    desired: world.desired,
    observed: world.observed,
    onlineNodes: world.online,
    now,
    history: world.history,
    policy,
  });

/**
 * The world after every action of `actions` succeeded at `now`, as the agent and the projections would see it: a
 * (re)started process runs from `now` (its check, if it has one, back at `starting`); the marks change the history
 * as PodFailing / PodRecovered do.
 */
export function applied(world: World, actions: readonly PlannedAction[], now: Date, round: number): World {
  let observed = [...world.observed];
  const history = new Map(world.history);
  for (const [i, action] of actions.entries()) {
    const correlationId = `corr-${round}-${i}`;
    const key = podKey(action.tenantId, action.podId);
    const before = history.get(key) ?? NO_HISTORY;
    if (action.kind === 'markFailing') {
      history.set(key, { ...before, failing: { generation: action.generation, since: now } });
      continue;
    }
    if (action.kind === 'markRecovered') {
      history.set(key, { ...before, failing: null, recovery: null });
      continue;
    }
    const removed = new Set('remove' in action ? action.remove : []);
    observed = observed.filter((c) => !(c.nodeId === action.nodeId && removed.has(c.containerId)));
    const change = (containerId: string, changes: (c: SeenContainer) => Partial<SeenContainer>) => {
      observed = observed.map((c) =>
        c.nodeId === action.nodeId && c.containerId === containerId ? { ...c, ...changes(c), observedAt: now } : c,
      );
    };
    const running = (c: SeenContainer): Partial<SeenContainer> => ({
      state: 'running',
      exitCode: null,
      startedAt: now,
      health: c.health === null ? null : 'starting',
      healthError: null,
    });
    switch (action.kind) {
      case 'create':
      case 'recreate':
        observed.push({
          nodeId: action.nodeId,
          containerId: `new-${round}-${i}`,
          tenantId: action.tenantId,
          podId: action.podId,
          generation: action.generation,
          state: 'running',
          exitCode: null,
          startedAt: now,
          finishedAt: null,
          health: null,
          healthError: null,
          observedAt: now,
        });
        break;
      case 'start':
      case 'restart':
        change(action.containerId, running);
        break;
      case 'stop':
        change(action.containerId, () => ({ state: 'exited', exitCode: 0, finishedAt: now, health: null }));
        break;
      case 'remove':
      case 'removeOrphan':
        break;
      default: {
        const unknown: never = action;
        throw new Error(`unknown action ${(unknown as PlannedAction).kind}`);
      }
    }
    // As the history projection folds PodActionSucceeded, with causation = cause or the correlation id.
    const causation = action.cause ?? correlationId;
    const recovery = action.kind === 'start' || action.kind === 'restart' ? action.recovery : null;
    history.set(key, {
      ...before,
      last: {
        action: action.kind,
        generation: action.generation,
        ok: true,
        at: now,
        error: null,
        recovery: !!recovery,
      },
      failures: 0,
      recovery: recovery ? { ...recovery, at: now } : before.recovery,
      restartHonoured: STARTS_PROCESS.has(action.kind) ? causation : before.restartHonoured,
      removalDone: action.kind === 'remove' ? causation : before.removalDone,
    });
  }
  return { ...world, observed, history };
}
