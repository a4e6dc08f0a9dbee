import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PodView, RolloutTarget } from '@agentpod/contracts';
import { accepted, foldAt, refusedWith } from '../testing/given.ts';
import { decideRollout, type RolloutCommand } from './decide.ts';
import { type RolloutState, rolloutAggregate, rolloutView, type Started } from './events.ts';
import { busyTargets, selectTargets } from './targets.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const target = (podId: string, tenantId = 'acme'): RolloutTarget => ({
  tenantId,
  podId,
  fromImage: 'app:1',
  fromGeneration: 1,
});
const start = (pods = ['p1', 'p2', 'p3'], maxUnavailable = 1): RolloutCommand => ({
  type: 'StartRollout',
  rolloutId: 'rol_aaaaaaaaaaaaaaaaaaaa',
  tenantId: 'acme',
  targets: pods.map((pod) => target(pod)),
  image: 'app:2',
  maxUnavailable,
  timeouts: { timeoutSeconds: 300, settleSeconds: 10 },
});

/** Given these commands were accepted, in order: the state after them. */
function given(...commands: RolloutCommand[]): RolloutState {
  return commands.reduce<RolloutState>(
    (state, command) => foldAt(rolloutAggregate, accepted(decideRollout(command, state)), T0, state),
    rolloutAggregate.initialState,
  );
}
const started = (state: RolloutState): Started => {
  assert.notEqual(state.status, 'none');
  return state as Started;
};
const upgrading = (podId: string, generation = 2): RolloutCommand => ({
  type: 'MarkUpgrading',
  tenantId: 'acme',
  podId,
  generation,
  restartsBefore: 0,
});
const healthy = (podId: string, generation = 2): RolloutCommand => ({
  type: 'MarkHealthy',
  tenantId: 'acme',
  podId,
  generation,
});
const failed = (podId: string, rollback = true): RolloutCommand => ({
  type: 'MarkFailed',
  tenantId: 'acme',
  podId,
  generation: 2,
  reason: 'its health check fails',
  rollback,
});
const rolledBack = (podId: string): RolloutCommand => ({
  type: 'MarkRolledBack',
  tenantId: 'acme',
  podId,
  generation: 3,
  image: 'app:1',
});

describe('rollout decide / evolve', () => {
  test('started: every pod pending, in order, running, with who started it', () => {
    const state = started(given(start()));
    assert.equal(state.status, 'running');
    assert.deepEqual(
      state.pods.map((p) => [p.podId, p.phase]),
      [
        ['p1', 'pending'],
        ['p2', 'pending'],
        ['p3', 'pending'],
      ],
    );
    const view = rolloutView(state);
    assert.equal(view.id, 'rol_aaaaaaaaaaaaaaaaaaaa');
    assert.equal(view.startedAt, T0.toISOString());
    assert.deepEqual(view.startedBy, { kind: 'system', id: 'test' });
  });

  test('bad starts: no pods, a pod twice, a pod of another tenant, a second start', () => {
    refusedWith(decideRollout(start([]), { status: 'none' }), 'invalid', /at least one pod/);
    refusedWith(decideRollout(start(['p1', 'p1']), { status: 'none' }), 'invalid', /acme\/p1 is named twice/);
    const foreign = { ...start(), targets: [target('p1', 'globex')] } as RolloutCommand;
    refusedWith(decideRollout(foreign, { status: 'none' }), 'invalid', /must belong to it/);
    refusedWith(decideRollout(start(), given(start())), 'conflict', /exists already/);
  });

  test('no more pods in flight than maxUnavailable; a healthy pod frees its slot', () => {
    const one = given(start(), upgrading('p1'));
    refusedWith(decideRollout(upgrading('p2'), one), 'conflict', /1 pod\(s\) in flight/);
    const two = given(start(['p1', 'p2', 'p3'], 2), upgrading('p1'), upgrading('p2'));
    refusedWith(decideRollout(upgrading('p3'), two), 'conflict', /in flight/);
    assert.equal(accepted(decideRollout(upgrading('p2'), given(start(), upgrading('p1'), healthy('p1')))).length, 1);
  });

  test('a step taken twice changes nothing the second time; a step out of turn is refused', () => {
    const state = given(start(), upgrading('p1'), healthy('p1'));
    assert.deepEqual(accepted(decideRollout(healthy('p1'), state)), []);
    assert.deepEqual(accepted(decideRollout(upgrading('p1'), given(start(), upgrading('p1')))), []);
    refusedWith(decideRollout(healthy('p2'), state), 'conflict', /acme\/p2 is pending/);
    refusedWith(decideRollout(healthy('p1', 5), given(start(), upgrading('p1'))), 'conflict');
    refusedWith(decideRollout(healthy('nope'), state), 'not_found', /not part of rollout/);
  });

  test('a failure stops it: no pod starts after it; rollback, then finish says which pod and why', () => {
    const state = given(start(), upgrading('p1'), failed('p1'));
    const pod = started(state).pods[0];
    assert.deepEqual([pod?.phase, pod?.rollbackPending, pod?.reason], ['failed', true, 'its health check fails']);
    refusedWith(decideRollout(upgrading('p2'), state), 'conflict', /a pod failed/);
    assert.deepEqual(accepted(decideRollout({ type: 'Finish' }, state)), [], 'not while the rollback is to do');
    const back = given(start(), upgrading('p1'), failed('p1'), rolledBack('p1'));
    assert.equal(started(back).pods[0]?.rollbackGeneration, 3);
    const [end] = accepted(decideRollout({ type: 'Finish' }, back));
    assert.deepEqual(end, {
      type: 'RolloutFailed',
      data: { reason: 'acme/p1: its health check fails', tenantId: 'acme', podId: 'p1' },
      tenantId: 'acme',
    });
    const done = foldAt(rolloutAggregate, [end as never], T0, back);
    assert.equal(done.status, 'failed');
    assert.equal(rolloutView(started(done)).reason, 'acme/p1: its health check fails');
    assert.deepEqual(
      started(done).pods.map((p) => p.phase),
      ['rolledBack', 'pending', 'pending'],
    );
  });

  test('a pod whose update was refused fails without a rollback (nothing changed)', () => {
    const refused = { ...(failed('p1') as object), generation: null } as RolloutCommand;
    const [event] = accepted(decideRollout(refused, given(start())));
    assert.equal(event?.type === 'RolloutPodFailed' && event.data.rollback, false);
  });

  test('succeeded when every pod is healthy or skipped, not before', () => {
    const some = given(start(['p1', 'p2']), upgrading('p1'), healthy('p1'));
    assert.deepEqual(accepted(decideRollout({ type: 'Finish' }, some)), []);
    const skip = { type: 'MarkSkipped', tenantId: 'acme', podId: 'p2', reason: 'deleted' } as const;
    const all = given(start(['p1', 'p2']), upgrading('p1'), healthy('p1'), skip);
    assert.deepEqual(
      accepted(decideRollout({ type: 'Finish' }, all)).map((e) => e.type),
      ['RolloutSucceeded'],
    );
  });

  test('cancel: a running rollout stops; an ended one is refused; twice is once', () => {
    const cancelled = given(start(), upgrading('p1'), { type: 'CancelRollout' });
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(accepted(decideRollout({ type: 'CancelRollout' }, cancelled)), []);
    refusedWith(decideRollout(upgrading('p2'), cancelled), 'conflict', /has ended \(cancelled\)/);
    const done = given(start(['p1']), upgrading('p1'), healthy('p1'), { type: 'Finish' });
    assert.equal(done.status, 'succeeded');
    refusedWith(decideRollout({ type: 'CancelRollout' }, done), 'conflict', /has ended \(succeeded\)/);
  });
});

describe('rollout targets', () => {
  const pod = (podId: string, extra: Partial<PodView> = {}, tenantId = 'acme') =>
    ({ tenantId, podId, image: 'app:1', generation: 4, desired: 'running', ...extra }) as PodView;
  const pods = [pod('web'), pod('api'), pod('old', { desired: 'stopped' }), pod('new', { image: 'app:2' })];

  test('all: every running pod without the image, by name; another tenant’s pods not', () => {
    const targets = selectTargets({ tenantId: 'acme', all: true, image: 'app:2' }, [...pods, pod('x', {}, 'globex')]);
    assert.deepEqual(targets, [
      { tenantId: 'acme', podId: 'api', fromImage: 'app:1', fromGeneration: 4 },
      { tenantId: 'acme', podId: 'web', fromImage: 'app:1', fromGeneration: 4 },
    ]);
    assert.equal(selectTargets({ all: true, image: 'app:2' }, [...pods, pod('x', {}, 'globex')]).length, 3);
  });

  test('nothing to do, a missing pod, a stopped pod: each says so', () => {
    const current = [pod('new', { image: 'app:2' }), pod('old', { desired: 'stopped' })];
    const none = () => selectTargets({ tenantId: 'acme', all: true, image: 'app:2' }, current);
    assert.throws(none, /nothing to upgrade: no running pod of tenant acme has an image other than app:2/);
    const missing = () => selectTargets({ tenantId: 'acme', pods: ['nope'], image: 'app:2' }, pods);
    assert.throws(missing, { code: 'not_found', message: 'no pod acme/nope' });
    const stopped = () => selectTargets({ tenantId: 'acme', pods: ['old'], image: 'app:2' }, pods);
    assert.throws(stopped, { code: 'conflict', message: /acme\/old is stopped/ });
  });

  test('a pod in another running rollout is busy', () => {
    const targets = selectTargets({ tenantId: 'acme', pods: ['web'], image: 'app:2' }, pods);
    const running = [{ id: 'rol_bbbbbbbbbbbbbbbbbbbb', pods: [{ tenantId: 'acme', podId: 'web' }] }];
    assert.match(busyTargets(targets, running)?.message ?? '', /acme\/web is part of rollout rol_b/);
    assert.equal(busyTargets(targets, []), undefined);
  });
});
