import {
  type DesiredPod,
  NO_HISTORY,
  type PlannedAction,
  type PodHistory,
  podKey,
  type SeenContainer,
  STARTS_PROCESS,
} from './model.ts';
import { plan } from './plan.ts';

/*
 * Given / when / then for the planner, and a simulated world its plans can be applied to: every action succeeds
 * and the world (containers, history) changes the way the agent and the history projection would change it.
 * Test support, not part of the service.
 */

export const NOW = new Date('2026-03-01T12:00:00.000Z');
export const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
export const OTHER_NODE = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';
export const RETRY_MS = 5_000;

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
    ...overrides,
  };
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

export const when = (world: World, now = NOW): PlannedAction[] =>
  plan(world.desired, world.observed, world.online, now, world.history, { retryDelayMs: RETRY_MS });

/** The world after every action of `actions` succeeded at `now`, as the agent and the projections would see it. */
export function applied(world: World, actions: readonly PlannedAction[], now: Date, round: number): World {
  let observed = [...world.observed];
  const history = new Map(world.history);
  for (const [i, action] of actions.entries()) {
    const correlationId = `corr-${round}-${i}`;
    const removed = new Set('remove' in action ? action.remove : []);
    observed = observed.filter((c) => !(c.nodeId === action.nodeId && removed.has(c.containerId)));
    const setState = (containerId: string, state: SeenContainer['state'], exitCode: number | null) => {
      observed = observed.map((c) =>
        c.nodeId === action.nodeId && c.containerId === containerId ? { ...c, state, exitCode } : c,
      );
    };
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
        });
        break;
      case 'start':
      case 'restart':
        setState(action.containerId, 'running', null);
        break;
      case 'stop':
        setState(action.containerId, 'exited', 0);
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
    const key = podKey(action.tenantId, action.podId);
    const before = history.get(key) ?? NO_HISTORY;
    const causation = action.cause ?? correlationId;
    history.set(key, {
      last: { action: action.kind, generation: action.generation, ok: true, at: now },
      failures: 0,
      restartHonoured: STARTS_PROCESS.has(action.kind) ? causation : before.restartHonoured,
      removalDone: action.kind === 'remove' ? causation : before.removalDone,
    });
  }
  return { ...world, observed, history };
}
