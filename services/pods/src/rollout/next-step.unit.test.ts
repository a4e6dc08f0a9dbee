import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accepted, foldAt } from '../testing/given.ts';
import { decideRollout, type RolloutCommand } from './decide.ts';
import { podKey, type RolloutState, rolloutAggregate, type Started } from './events.ts';
import { nextSteps, type ObservedPod, type Step } from './next-step.ts';

/* The runner's decisions, pure: the rollout as recorded, the pods as the read model shows them, the time. */

const T0 = new Date('2026-03-01T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1_000);

function rollout(pods: string[], maxUnavailable = 1, ...commands: RolloutCommand[]): Started {
  const start: RolloutCommand = {
    type: 'StartRollout',
    rolloutId: 'rol_aaaaaaaaaaaaaaaaaaaa',
    tenantId: 'acme',
    targets: pods.map((podId) => ({ tenantId: 'acme', podId, fromImage: 'app:1', fromGeneration: 1 })),
    image: 'app:2',
    maxUnavailable,
    timeouts: { timeoutSeconds: 300, settleSeconds: 10 },
  };
  const state = [start, ...commands].reduce<RolloutState>(
    (s, command) => foldAt(rolloutAggregate, accepted(decideRollout(command, s)), T0, s),
    rolloutAggregate.initialState,
  );
  assert.notEqual(state.status, 'none');
  return state as Started;
}
const upgrading = (podId: string, restartsBefore = 0): RolloutCommand => ({
  type: 'MarkUpgrading',
  tenantId: 'acme',
  podId,
  generation: 2,
  restartsBefore,
});

const pod = (podId: string, extra: Partial<ObservedPod> = {}): ObservedPod => ({
  tenantId: 'acme',
  podId,
  generation: 1,
  desired: 'running',
  status: 'running',
  message: null,
  health: 'healthy',
  restarts: 0,
  startedAt: T0.toISOString(),
  hasHealthCheck: true,
  failingGeneration: null,
  ...extra,
});
const seen = (...pods: ObservedPod[]) => new Map(pods.map((p) => [podKey(p), p]));
const kinds = (steps: Step[]) => steps.map((s) => ('podId' in s ? `${s.kind} ${s.podId}` : s.kind));

describe('rollout runner: the next steps', () => {
  test('starts with the first maxUnavailable pods, in order', () => {
    const pods = seen(pod('a'), pod('b'), pod('c'));
    assert.deepEqual(kinds(nextSteps(rollout(['a', 'b', 'c']), pods, T0)), ['upgrade a']);
    assert.deepEqual(kinds(nextSteps(rollout(['a', 'b', 'c'], 2), pods, T0)), ['upgrade a', 'upgrade b']);
  });

  test('waits while the new generation is not yet seen, starting, or unhealthy-free but not yet healthy', () => {
    const state = rollout(['a', 'b'], 1, upgrading('a'));
    assert.deepEqual(nextSteps(state, seen(pod('a'), pod('b')), at(1)), [], 'the read model still shows generation 1');
    const starting = pod('a', { generation: 2, health: 'starting' });
    assert.deepEqual(nextSteps(state, seen(starting, pod('b')), at(5)), []);
    const created = pod('a', { generation: 2, status: 'pending', message: 'waiting for the node to create it' });
    assert.deepEqual(nextSteps(state, seen(created, pod('b')), at(5)), []);
  });

  test('healthy when its check says so, and its slot goes to the next pod; finish when all are', () => {
    const state = rollout(['a', 'b'], 1, upgrading('a'));
    const steps = nextSteps(state, seen(pod('a', { generation: 2 }), pod('b')), at(3));
    assert.deepEqual(steps, [
      { kind: 'healthy', tenantId: 'acme', podId: 'a', generation: 2 },
      { kind: 'upgrade', tenantId: 'acme', podId: 'b' },
    ]);
    const next = rollout(['a', 'b'], 1, upgrading('a'), {
      type: 'MarkHealthy',
      tenantId: 'acme',
      podId: 'a',
      generation: 2,
    });
    assert.deepEqual(kinds(nextSteps(next, seen(pod('a', { generation: 2 }), pod('b')), at(3))), ['upgrade b']);
    const last = rollout(['a'], 1, upgrading('a'), {
      type: 'MarkHealthy',
      tenantId: 'acme',
      podId: 'a',
      generation: 2,
    });
    assert.deepEqual(kinds(nextSteps(last, seen(pod('a', { generation: 2 })), at(3))), ['finish']);
  });

  test('without a health check: healthy once it has run the settle period', () => {
    const state = rollout(['a'], 1, upgrading('a'));
    const plain = pod('a', { generation: 2, health: 'unknown', hasHealthCheck: false, startedAt: at(2).toISOString() });
    assert.deepEqual(nextSteps(state, seen(plain), at(11)), []);
    assert.deepEqual(kinds(nextSteps(state, seen(plain), at(12))), ['healthy a']);
  });

  test('fails with a rollback when unhealthy, exited, failed, failing, healed by the reconciler, or too slow', () => {
    const state = rollout(['a', 'b'], 1, upgrading('a'));
    const b = pod('b');
    const failures: [Partial<ObservedPod>, RegExp][] = [
      [{ health: 'unhealthy' }, /its health check fails/],
      [{ status: 'exited', message: 'exit code 1', health: 'unknown' }, /^exited \(exit code 1\)/],
      [{ status: 'failed', message: 'No such image: app:2' }, /No such image/],
      [{ status: 'failing', message: 'exited 3 times', failingGeneration: 2 }, /failing: exited 3 times/],
      [{ restarts: 1, health: 'starting' }, /restarted 1 time\(s\)/],
    ];
    for (const [extra, reason] of failures) {
      const [step, ...rest] = nextSteps(state, seen(pod('a', { generation: 2, ...extra }), b), at(5));
      assert.equal(step?.kind, 'fail', JSON.stringify(extra));
      assert.ok(
        step?.kind === 'fail' && step.rollback && reason.test(step.reason),
        step?.kind === 'fail' ? step.reason : '',
      );
      assert.deepEqual(rest, [], 'no pod starts after a failure');
    }
    const slow = nextSteps(state, seen(pod('a', { generation: 2, health: 'starting' }), b), at(300));
    assert.match(
      slow[0]?.kind === 'fail' ? slow[0].reason : '',
      /not healthy within 300s \(last: running, health starting\)/,
    );
  });

  test('failing from before the upgrade is not the new generation’s fault: it waits', () => {
    const state = rollout(['a'], 1, upgrading('a'));
    const old = pod('a', { generation: 2, status: 'failing', message: 'crash loop', failingGeneration: 1 });
    assert.deepEqual(nextSteps(state, seen(old), at(5)), []);
  });

  test('deleted, stopped or changed by someone else meanwhile: failed, nothing to roll back', () => {
    const state = rollout(['a'], 1, upgrading('a'));
    const reasons = [
      [seen(), /deleted/],
      [seen(pod('a', { generation: 2, desired: 'stopped' })), /stopped/],
      [seen(pod('a', { generation: 3 })), /changed by another update \(generation 3\)/],
    ] as const;
    for (const [observed, reason] of reasons) {
      const [step] = nextSteps(state, observed, at(5));
      assert.ok(step?.kind === 'fail' && !step.rollback && reason.test(step.reason), JSON.stringify(step));
    }
  });

  test('after a failure: roll it back, leave the rest, then finish; in-flight pods are still judged', () => {
    const fail: RolloutCommand = {
      type: 'MarkFailed',
      tenantId: 'acme',
      podId: 'a',
      generation: 2,
      reason: 'its health check fails',
      rollback: true,
    };
    const two = rollout(['a', 'b', 'c'], 2, upgrading('a'), upgrading('b'), fail);
    const pods = seen(pod('a', { generation: 2 }), pod('b', { generation: 2 }), pod('c'));
    assert.deepEqual(kinds(nextSteps(two, pods, at(5))), ['rollback a', 'healthy b']);
    const back: RolloutCommand = {
      type: 'MarkRolledBack',
      tenantId: 'acme',
      podId: 'a',
      generation: 3,
      image: 'app:1',
    };
    const done = rollout(['a', 'b', 'c'], 1, upgrading('a'), fail, back);
    assert.deepEqual(kinds(nextSteps(done, pods, at(6))), ['finish']);
  });

  test('pods gone or stopped before their turn are skipped', () => {
    const state = rollout(['a', 'b', 'c']);
    const steps = nextSteps(state, seen(pod('b', { desired: 'stopped' }), pod('c')), T0);
    assert.deepEqual(kinds(steps), ['skip a', 'skip b', 'upgrade c']);
  });

  test('an ended rollout takes no step', () => {
    const cancelled = rollout(['a'], 1, { type: 'CancelRollout' });
    assert.deepEqual(nextSteps(cancelled, seen(pod('a')), T0), []);
  });
});
