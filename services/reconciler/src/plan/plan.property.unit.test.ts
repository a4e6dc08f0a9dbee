import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContainerState, ReconcileAction, RestartPolicy } from '@agentpod/contracts';
import fc from 'fast-check';
import {
  actionKey,
  type DesiredPod,
  type PlannedAction,
  type PodHistory,
  podKey,
  type SeenContainer,
} from './model.ts';
import { applied, NOW, RETRY_MS, type World, when } from './world.testing.ts';

/*
 * Properties of the planner over arbitrary worlds: small pools of nodes, tenants, pods and event ids, so that
 * collisions (containers of several generations, on several nodes, of deleted pods, of no pod) are common.
 */

const NODES = ['nod_aaaaaaaaaaaaaaaaaaaaaaaa', 'nod_bbbbbbbbbbbbbbbbbbbbbbbb', 'nod_cccccccccccccccccccccccc'];
const TENANTS = ['acme', 'zeta'];
const PODS = ['web', 'api', 'db'];
const RESTARTS = ['evt-r1', 'evt-r2'];

const node = fc.constantFrom(...NODES);
const tenant = fc.constantFrom(...TENANTS);
const podId = fc.constantFrom(...PODS);
const generation = fc.integer({ min: 1, max: 3 });

const desiredPod: fc.Arbitrary<DesiredPod> = fc.record({
  tenantId: tenant,
  podId,
  nodeId: node,
  generation,
  desired: fc.constantFrom('running' as const, 'stopped' as const),
  restartPolicy: fc.constantFrom(...RestartPolicy.options),
  restartRequest: fc.option(fc.constantFrom(...RESTARTS), { nil: null }),
  deletion: fc.option(fc.record({ eventId: fc.constant('evt-deleted'), keepVolume: fc.boolean() }), { nil: null }),
  volumeName: fc.option(fc.constant('agentpod-vol'), { nil: null }),
});

const seen = fc.record({
  nodeId: node,
  tenantId: tenant,
  podId,
  generation: fc.integer({ min: 0, max: 3 }),
  state: fc.constantFrom(...ContainerState.options),
  exitCode: fc.option(fc.constantFrom(0, 1, 137), { nil: null }),
});

const podHistory: fc.Arbitrary<PodHistory> = fc.record({
  last: fc.option(
    fc.record({
      action: fc.constantFrom(...ReconcileAction.options),
      generation,
      ok: fc.boolean(),
      at: fc.integer({ min: 0, max: 2 * RETRY_MS }).map((ago) => new Date(NOW.getTime() - ago)),
    }),
    { nil: null },
  ),
  failures: fc.nat(5),
  restartHonoured: fc.option(fc.constantFrom(...RESTARTS), { nil: null }),
  removalDone: fc.option(fc.constant('evt-deleted'), { nil: null }),
});

const world: fc.Arbitrary<World> = fc
  .record({
    desired: fc.uniqueArray(desiredPod, { selector: (p) => podKey(p.tenantId, p.podId), maxLength: 6 }),
    observed: fc.array(seen, { maxLength: 10 }),
    history: fc.dictionary(
      fc.tuple(tenant, podId).map(([t, p]) => podKey(t, p)),
      podHistory,
    ),
    online: fc.subarray(NODES),
  })
  .map(({ desired, observed, history, online }) => ({
    desired,
    // Container ids are unique, as the engine makes them.
    observed: observed.map((c, i): SeenContainer => ({ ...c, containerId: `c${i}` })),
    history: new Map(Object.entries(history)),
    online: new Set(online),
  }));

const removedBy = (action: PlannedAction): string[] => ('remove' in action ? action.remove : []);

describe('plan: properties', () => {
  test('never two actions for one pod', () => {
    fc.assert(
      fc.property(world, (w) => {
        const keys = when(w).map(actionKey);
        assert.equal(new Set(keys).size, keys.length);
      }),
    );
  });

  test('never removes the current-generation container of a pod that is wanted, on the pod’s node', () => {
    fc.assert(
      fc.property(world, (w) => {
        const live = w.desired.filter((p) => !p.deletion);
        for (const action of when(w)) {
          for (const containerId of removedBy(action)) {
            const c = w.observed.find((o) => o.containerId === containerId && o.nodeId === action.nodeId);
            assert.ok(c, `the action removes ${containerId}, which is not on ${action.nodeId}`);
            const owner = live.find((p) => p.tenantId === c.tenantId && p.podId === c.podId);
            assert.ok(
              !owner || owner.nodeId !== c.nodeId || owner.generation !== c.generation,
              `${action.kind} removes the current container of ${podKey(c.tenantId, c.podId)}`,
            );
          }
        }
      }),
    );
  });

  test('offline nodes get no actions', () => {
    fc.assert(
      fc.property(world, (w) => {
        for (const action of when(w)) assert.ok(w.online.has(action.nodeId), `${action.kind} on an offline node`);
      }),
    );
  });

  test('the plan does not depend on the order of its inputs', () => {
    fc.assert(
      fc.property(world, fc.nat(), (w, seed) => {
        const shuffle = <T>(items: T[]) =>
          items
            .map((item, i) => ({ item, k: (i * 7919 + seed) % 104_729 }))
            .sort((a, b) => a.k - b.k)
            .map(({ item }) => item);
        const shuffled = { ...w, desired: shuffle([...w.desired]), observed: shuffle([...w.observed]) };
        assert.deepEqual(when(shuffled), when(w));
      }),
    );
  });

  test('applying the plan reaches a fixed point: after a bounded number of rounds nothing is left to do', () => {
    // Per pod at most: outdated removal, a (re)create or restart, a stop or start, one stray node after another,
    // a volume clean-up; plus one round for a failure's retry delay to pass.
    const bound = 5 + NODES.length;
    fc.assert(
      fc.property(world, (start) => {
        let w = start;
        let now = NOW;
        for (let round = 0; round < bound; round++) {
          const actions = when(w, now);
          if (actions.length === 0) return;
          w = applied(w, actions, now, round);
          now = new Date(now.getTime() + RETRY_MS);
        }
        assert.deepEqual(when(w, now), [], `still planning after ${bound} rounds`);
      }),
      { numRuns: 500 },
    );
  });
});
