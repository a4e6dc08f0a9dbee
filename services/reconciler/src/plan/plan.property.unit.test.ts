import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContainerState, ProbeHealth, ReconcileAction, RecoveryReason, RestartPolicy } from '@agentpod/contracts';
import fc from 'fast-check';
import { backoffDelay } from './backoff.ts';
import {
  actionKey,
  type DesiredPod,
  type PlannedAction,
  type PlanPolicy,
  type PodHistory,
  podKey,
  type SeenContainer,
} from './model.ts';
import { applied, NOW, POLICY, pass, type World, when } from './world.testing.ts';

/*
 * Properties of the planner over arbitrary worlds: small pools of nodes, tenants, pods and event ids, so that
 * collisions (containers of several generations, on several nodes, of deleted pods, of no pod) are common.
 */

const NODES = ['nod_aaaaaaaaaaaaaaaaaaaaaaaa', 'nod_bbbbbbbbbbbbbbbbbbbbbbbb', 'nod_cccccccccccccccccccccccc'];
const TENANTS = ['acme', 'zeta'];
const PODS = ['web', 'api', 'db'];
const RESTARTS = ['evt-r1', 'evt-r2'];

/** null three times in four: pods are mostly not deleted, mostly not failing. */
const rarely = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: value, weight: 1 });

const node = fc.constantFrom(...NODES);
const tenant = fc.constantFrom(...TENANTS);
const podId = fc.constantFrom(...PODS);
const generation = fc.integer({ min: 1, max: 3 });

const desiredPod: fc.Arbitrary<DesiredPod> = fc.record({
  tenantId: tenant,
  podId,
  nodeId: node,
  generation,
  desired: fc.constantFrom('running' as const, 'running' as const, 'stopped' as const),
  restartPolicy: fc.constantFrom(...RestartPolicy.options),
  restartRequest: rarely(fc.constantFrom(...RESTARTS)),
  deletion: rarely(fc.record({ eventId: fc.constant('evt-deleted'), keepVolume: fc.boolean() })),
  volumeName: fc.option(fc.constant('agentpod-vol'), { nil: null }),
});

/** A time up to a little more than the reset period before NOW: backoffs, graces and resets all come into play. */
const past = fc
  .integer({ min: 0, max: POLICY.resetAfterMs + 2 * POLICY.backoffCapMs })
  .map((ago) => new Date(NOW.getTime() - ago));

const seen = fc.record({
  nodeId: node,
  tenantId: tenant,
  podId,
  generation: fc.integer({ min: 0, max: 3 }),
  state: fc.constantFrom(...ContainerState.options),
  exitCode: fc.option(fc.constantFrom(0, 1, 137), { nil: null }),
  startedAt: fc.option(past, { nil: null }),
  finishedAt: fc.option(past, { nil: null }),
  health: fc.option(fc.constantFrom(...ProbeHealth.options), { nil: null }),
  healthError: fc.option(fc.constant('GET /healthz: 500'), { nil: null }),
  observedAt: past,
});

const podHistory: fc.Arbitrary<PodHistory> = fc.record({
  last: fc.option(
    fc.record({
      action: fc.constantFrom(...ReconcileAction.options),
      generation,
      ok: fc.boolean(),
      at: past,
      error: fc.option(fc.constant('boom'), { nil: null }),
      recovery: fc.boolean(),
    }),
    { nil: null },
  ),
  failures: fc.nat(5),
  recovery: fc.option(
    fc.record({
      reason: fc.constantFrom(...RecoveryReason.options),
      attempt: fc.integer({ min: 1, max: 12 }),
      at: past,
    }),
    { nil: null },
  ),
  failing: rarely(fc.record({ generation, since: past })),
  restartHonoured: fc.option(fc.constantFrom(...RESTARTS), { nil: null }),
  removalDone: fc.option(fc.constant('evt-deleted'), { nil: null }),
});

/** A pod's own container is mostly running or ended. */
const OWN_STATES: ContainerState[] = ['running', 'running', 'exited', 'exited', 'dead', 'created'];

const world: fc.Arbitrary<World> = fc
  .record({
    desired: fc.uniqueArray(desiredPod, { selector: (p) => podKey(p.tenantId, p.podId), maxLength: 6 }),
    observed: fc.array(seen, { maxLength: 10 }),
    // Containers that are some desired pod's current one on its node (index into `desired`): crashes, unhealthy
    // runs and recoveries happen to those, and stray arbitrary containers rarely are one.
    own: fc.array(fc.tuple(fc.nat(5), seen, fc.constantFrom(...OWN_STATES)), { maxLength: 6 }),
    history: fc.dictionary(
      fc.tuple(tenant, podId).map(([t, p]) => podKey(t, p)),
      podHistory,
    ),
    online: fc.oneof(fc.constant(NODES), fc.subarray(NODES)),
  })
  .map(({ desired, observed, own, history, online }) => {
    const current = own.flatMap(([i, c, state]): Omit<SeenContainer, 'containerId'>[] => {
      const pod = desired[i % Math.max(1, desired.length)];
      if (!pod) return [];
      const { tenantId, podId, nodeId, generation } = pod;
      return [{ ...c, tenantId, podId, nodeId, generation, state }];
    });
    return {
      desired,
      // Container ids are unique, as the engine makes them.
      observed: [...observed, ...current].map((c, i): SeenContainer => ({ ...c, containerId: `c${i}` })),
      history: new Map(Object.entries(history)),
      online: new Set(online),
    };
  });

const removedBy = (action: PlannedAction): string[] => ('remove' in action ? action.remove : []);

describe('plan: properties', () => {
  test('never two actions for one pod, and a pod that waits gets no action', () => {
    fc.assert(
      fc.property(world, (w) => {
        const plan = pass(w);
        const keys = [...plan.actions.map(actionKey), ...plan.waits.map((wait) => podKey(wait.tenantId, wait.podId))];
        assert.equal(new Set(keys).size, keys.length);
      }),
    );
  });

  test('waits end in the future, and wakeAt is the earliest of them', () => {
    fc.assert(
      fc.property(world, (w) => {
        const plan = pass(w);
        const ends = plan.waits.flatMap((wait) => (wait.until === null ? [] : [new Date(wait.until).getTime()]));
        for (const end of ends) assert.ok(end > NOW.getTime());
        assert.deepEqual(plan.wakeAt, ends.length === 0 ? null : new Date(Math.min(...ends)));
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
        assert.deepEqual(pass(shuffled), pass(w));
      }),
    );
  });

  test('applying the plan reaches a fixed point: after a bounded number of rounds nothing is left to do', () => {
    // Per pod at most: the marks, an outdated removal, a (re)create or restart, a stop or start, one stray node
    // after another, a volume clean-up; each possibly after a wait (a round that only lets time pass to wakeAt).
    const bound = 2 * (7 + NODES.length);
    fc.assert(
      fc.property(world, (start) => {
        let w = start;
        let now = NOW;
        for (let round = 0; round < bound; round++) {
          const plan = pass(w, now);
          if (plan.actions.length === 0) {
            if (plan.wakeAt === null) return;
            now = plan.wakeAt;
            continue;
          }
          w = applied(w, plan.actions, now, round);
        }
        assert.deepEqual(pass(w, now).actions, [], `still planning after ${bound} rounds`);
      }),
      { numRuns: 500 },
    );
  });
});

/** An arbitrary policy: a base, a cap at least the base, a threshold. */
const policy: fc.Arbitrary<PlanPolicy> = fc
  .record({
    base: fc.integer({ min: 1, max: 10_000 }),
    factor: fc.integer({ min: 1, max: 1_000 }),
    failingAfter: fc.integer({ min: 1, max: 6 }),
  })
  .map(({ base, factor, failingAfter }) => ({
    backoffBaseMs: base,
    backoffCapMs: base * factor,
    resetAfterMs: 600_000,
    failingAfter,
    observeGraceMs: 5_000,
  }));

describe('crash backoff: properties', () => {
  test('delays are non-decreasing in the attempt and, from the second attempt on, within [base, cap]', () => {
    fc.assert(
      fc.property(policy, fc.integer({ min: 2, max: 10_000 }), (p, n) => {
        const delay = backoffDelay(n, p);
        assert.ok(delay >= p.backoffBaseMs && delay <= p.backoffCapMs, `attempt ${n}: ${delay}`);
        assert.ok(backoffDelay(n - 1, p) <= delay);
        assert.equal(backoffDelay(1, p), 0);
      }),
    );
  });

  /** One crash of the loop below: how long the run lasted, and its exit code. */
  const run = fc.record({
    ranMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 600_000, max: 700_000 })),
    exitCode: fc.constantFrom(0, 1, 137),
  });

  test('a pod crashing over and over: recoveries wait the curve, the count resets after a long run, failing is marked once per streak', () => {
    fc.assert(
      fc.property(policy, fc.array(run, { minLength: 1, maxLength: 20 }), (p, runs) => {
        const key = 'acme/web';
        const desired: DesiredPod = {
          tenantId: 'acme',
          podId: 'web',
          nodeId: NODES[0] ?? '',
          generation: 1,
          desired: 'running',
          restartPolicy: 'always',
          restartRequest: null,
          deletion: null,
          volumeName: null,
        };
        let now = NOW;
        let w: World = {
          desired: [desired],
          observed: [
            {
              nodeId: desired.nodeId,
              containerId: 'c1',
              tenantId: 'acme',
              podId: 'web',
              generation: 1,
              state: 'running',
              exitCode: null,
              startedAt: now,
              finishedAt: null,
              health: null,
              healthError: null,
              observedAt: now,
            },
          ],
          history: new Map(),
          online: new Set([desired.nodeId]),
        };
        const plan = () => pass(w, now, p);
        let marksInStreak = 0;
        let previousAttempt = 0;
        let previousDelay = 0;
        for (const [i, { ranMs, exitCode }] of runs.entries()) {
          const c = w.observed[0];
          assert.ok(c?.startedAt);
          const startedAt = c.startedAt.getTime();
          // A failing pod that runs the reset period recovers (then the streak is over).
          if (w.history.get(key)?.failing && ranMs >= p.resetAfterMs) {
            now = new Date(startedAt + p.resetAfterMs);
            const actions = plan().actions;
            assert.deepEqual(
              actions.map((a) => a.kind),
              ['markRecovered'],
            );
            w = applied(w, actions, now, 1_000 + i);
          }
          const finishedAt = startedAt + ranMs;
          now = new Date(finishedAt);
          w = {
            ...w,
            observed: [{ ...c, state: 'exited', exitCode, finishedAt: now, observedAt: now }],
          };
          for (let step = 0; ; step++) {
            assert.ok(step < 5, 'the crash is never recovered');
            const { actions, wakeAt } = plan();
            const [action] = actions;
            if (!action) {
              assert.ok(wakeAt, 'a pod left waiting without a time');
              now = wakeAt;
              continue;
            }
            w = applied(w, actions, now, i * 10 + step);
            if (action.kind === 'markFailing') {
              marksInStreak += 1;
              assert.equal(marksInStreak, 1, 'marked failing twice in one streak');
              assert.equal(action.failures, previousAttempt);
              assert.ok(previousAttempt >= p.failingAfter);
              continue;
            }
            assert.ok(action.kind === 'start' && action.recovery, `a recovery, not ${action.kind}`);
            const { attempt } = action.recovery;
            const delay = now.getTime() - finishedAt;
            assert.equal(delay, backoffDelay(attempt, p));
            if (attempt === 1) {
              // A new streak: only after a run of the reset period (or the streak ended with PodRecovered).
              assert.ok(previousAttempt === 0 || ranMs >= p.resetAfterMs);
              marksInStreak = 0;
            } else {
              assert.equal(attempt, previousAttempt + 1);
              assert.ok(delay >= p.backoffBaseMs && delay <= p.backoffCapMs);
              assert.ok(delay >= previousDelay, 'the backoff shrank within a streak');
              // Failing is marked by the crash that ends recovery `failingAfter`.
              if (attempt - 1 >= p.failingAfter) assert.equal(marksInStreak, 1);
            }
            previousAttempt = attempt;
            previousDelay = delay;
            break;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
