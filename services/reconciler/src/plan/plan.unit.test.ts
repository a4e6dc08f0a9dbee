import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReconcileAction } from '@agentpod/contracts';
import type { PodHistory } from './model.ts';
import {
  ago,
  BASE_MS,
  container,
  given,
  historyOf,
  lastAction,
  NODE,
  OTHER_NODE,
  pass,
  pod,
  when,
} from './world.testing.ts';

const target = { tenantId: 'acme', podId: 'web', nodeId: NODE, generation: 1 };
const history = (overrides: Partial<PodHistory>): Record<string, PodHistory> => ({ 'acme/web': historyOf(overrides) });
const failed = (action: ReconcileAction, msAgo: number) =>
  history({ last: lastAction(action, msAgo, { ok: false, error: 'boom' }), failures: 1 });
const firstCrash = { reason: 'crash', attempt: 1 } as const;

describe('plan: a pod that should run', () => {
  test('without a container on its online node, it is created', () => {
    assert.deepEqual(when(given({ desired: [pod()] })), [{ kind: 'create', ...target, cause: null }]);
  });

  test('on an offline node, nothing is planned: the pod waits for its node', () => {
    assert.deepEqual(when(given({ desired: [pod()], online: new Set([OTHER_NODE]) })), []);
  });

  test('running already, nothing is planned', () => {
    assert.deepEqual(when(given({ desired: [pod()], observed: [container()] })), []);
  });

  test('created but never started, it is started (no recovery: it never ran)', () => {
    const c = container({ state: 'created', startedAt: null });
    assert.deepEqual(when(given({ desired: [pod()], observed: [c] })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null, recovery: null },
    ]);
  });

  test('exited under restart policy always, it is started again: a first crash recovery', () => {
    const c = container({ state: 'exited', exitCode: 0, finishedAt: ago(10) });
    assert.deepEqual(when(given({ desired: [pod()], observed: [c] })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null, recovery: firstCrash },
    ]);
  });

  test('on-failure starts it after a non-zero exit only; never leaves it', () => {
    const clean = container({ state: 'exited', exitCode: 0 });
    const crashed = container({ state: 'exited', exitCode: 137 });
    const onFailure = pod({ restartPolicy: 'on-failure' });
    assert.deepEqual(when(given({ desired: [onFailure], observed: [clean] })), []);
    assert.deepEqual(when(given({ desired: [onFailure], observed: [crashed] })), [
      { kind: 'start', ...target, containerId: crashed.containerId, cause: null, recovery: firstCrash },
    ]);
    assert.deepEqual(when(given({ desired: [pod({ restartPolicy: 'never' })], observed: [crashed] })), []);
  });

  test('stopped by the reconciler and wanted running again, it is started whatever its policy', () => {
    const c = container({ state: 'exited', exitCode: 0 });
    const stopped = history({ last: lastAction('stop', 0) });
    assert.deepEqual(when(given({ desired: [pod({ restartPolicy: 'never' })], observed: [c], history: stopped })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null, recovery: null },
    ]);
  });

  test('a new generation replaces the outdated container: recreate', () => {
    const old = container({ generation: 1 });
    assert.deepEqual(when(given({ desired: [pod({ generation: 2 })], observed: [old] })), [
      { kind: 'recreate', ...target, generation: 2, remove: [old.containerId], cause: null },
    ]);
  });

  test('outdated containers beside the current one are removed first (ports are freed before a start)', () => {
    const old = container({ generation: 1, state: 'exited' });
    const current = container({ generation: 2, state: 'created' });
    assert.deepEqual(when(given({ desired: [pod({ generation: 2 })], observed: [old, current] })), [
      { kind: 'remove', ...target, generation: 2, remove: [old.containerId], volume: null, cause: null },
    ]);
  });

  test('a restart request is honoured once: restart, then nothing', () => {
    const c = container();
    const wanted = pod({ restartRequest: 'evt-restart-1' });
    assert.deepEqual(when(given({ desired: [wanted], observed: [c] })), [
      { kind: 'restart', ...target, containerId: c.containerId, cause: 'evt-restart-1', recovery: null },
    ]);
    const done = history({ restartHonoured: 'evt-restart-1' });
    assert.deepEqual(when(given({ desired: [wanted], observed: [c], history: done })), []);
  });

  test('a create carries the standing restart request, so the new container counts as restarted', () => {
    assert.deepEqual(when(given({ desired: [pod({ restartRequest: 'evt-restart-1' })] })), [
      { kind: 'create', ...target, cause: 'evt-restart-1' },
    ]);
  });
});

describe('plan: a pod that should be stopped', () => {
  test('its running container is stopped', () => {
    const c = container();
    assert.deepEqual(when(given({ desired: [pod({ desired: 'stopped' })], observed: [c] })), [
      { kind: 'stop', ...target, containerId: c.containerId, cause: null },
    ]);
  });

  test('an exited container is left as it is, and a missing one is not created', () => {
    const c = container({ state: 'exited', exitCode: 0 });
    assert.deepEqual(when(given({ desired: [pod({ desired: 'stopped' })], observed: [c] })), []);
    assert.deepEqual(when(given({ desired: [pod({ desired: 'stopped' })] })), []);
  });
});

describe('plan: a deleted pod', () => {
  const deleted = pod({ deletion: { eventId: 'evt-deleted', keepVolume: false } });

  test('its containers are removed, and its volume with them', () => {
    const c = container();
    assert.deepEqual(when(given({ desired: [deleted], observed: [c] })), [
      { kind: 'remove', ...target, remove: [c.containerId], volume: 'agentpod-acme_web', cause: 'evt-deleted' },
    ]);
  });

  test('with keepVolume, the volume stays', () => {
    const c = container();
    const kept = pod({ deletion: { eventId: 'evt-deleted', keepVolume: true } });
    assert.deepEqual(when(given({ desired: [kept], observed: [c] })), [
      { kind: 'remove', ...target, remove: [c.containerId], volume: null, cause: 'evt-deleted' },
    ]);
    assert.deepEqual(when(given({ desired: [kept] })), []);
  });

  test('without containers, the volume is removed until a removal for this deletion succeeded', () => {
    assert.deepEqual(when(given({ desired: [deleted] })), [
      { kind: 'remove', ...target, remove: [], volume: 'agentpod-acme_web', cause: 'evt-deleted' },
    ]);
    assert.deepEqual(when(given({ desired: [deleted], history: history({ removalDone: 'evt-deleted' }) })), []);
  });
});

describe('plan: containers of no pod', () => {
  test('an orphan on an online node is removed; its volume is kept', () => {
    const orphan = container({ tenantId: 'ghost', podId: 'gone', generation: 3 });
    assert.deepEqual(when(given({ observed: [orphan] })), [
      {
        kind: 'removeOrphan',
        tenantId: 'ghost',
        podId: 'gone',
        nodeId: NODE,
        generation: 3,
        remove: [orphan.containerId],
        cause: null,
      },
    ]);
  });

  test('an orphan on an offline node is left alone', () => {
    const orphan = container({ tenantId: 'ghost', podId: 'gone' });
    assert.deepEqual(when(given({ observed: [orphan], online: new Set([OTHER_NODE]) })), []);
  });

  test('a pod’s container on another node is removed once the pod itself is settled', () => {
    const here = container();
    const stray = container({ nodeId: OTHER_NODE });
    assert.deepEqual(when(given({ desired: [pod()], observed: [here, stray] })), [
      { kind: 'remove', ...target, nodeId: OTHER_NODE, remove: [stray.containerId], volume: null, cause: null },
    ]);
  });
});

describe('plan: failed actions', () => {
  test('a failed create is retried after the base delay (its first retry waits as a second recovery would)', () => {
    const world = given({ desired: [pod()], history: failed('create', BASE_MS - 1) });
    const held = pass(world);
    assert.deepEqual(held.actions, []);
    const until = ago(-1).toISOString();
    assert.deepEqual(held.waits, [{ ...target, reason: 'action-backoff', until, attempt: 2 }]);
    assert.deepEqual(held.wakeAt, ago(-1));
    const later = given({ desired: [pod()], history: failed('create', BASE_MS) });
    assert.deepEqual(when(later), [{ kind: 'create', ...target, cause: null }]);
  });

  test('each failure in a row doubles the wait before the retry', () => {
    const twice = history({ last: lastAction('create', 0, { ok: false }), failures: 2 });
    assert.deepEqual(
      pass(given({ desired: [pod()], history: twice })).waits.at(0)?.until,
      ago(-2 * BASE_MS).toISOString(),
    );
  });

  test('a failed recreate holds the create that follows it (same family, same generation)', () => {
    assert.deepEqual(when(given({ desired: [pod()], history: failed('recreate', 10) })), []);
  });

  test('a failure does not hold another kind of action, nor a newer generation', () => {
    const c = container();
    assert.deepEqual(
      when(given({ desired: [pod({ desired: 'stopped' })], observed: [c], history: failed('create', 10) })),
      [{ kind: 'stop', ...target, containerId: c.containerId, cause: null }],
    );
    assert.deepEqual(when(given({ desired: [pod({ generation: 2 })], history: failed('create', 10) })), [
      { kind: 'create', ...target, generation: 2, cause: null },
    ]);
  });

  test('an orphan whose removal failed waits on the same curve', () => {
    const orphan = container({ tenantId: 'ghost', podId: 'gone' });
    const failedRemoval = {
      'ghost/gone': historyOf({ last: lastAction('removeOrphan', 10, { ok: false }), failures: 1 }),
    };
    const plan = pass(given({ observed: [orphan], history: failedRemoval }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.waits.at(0)?.reason, 'action-backoff');
  });
});

describe('plan: waits', () => {
  test('a pod on an unreachable node waits without a time; wakeAt is null when no wait is timed', () => {
    const plan = pass(given({ desired: [pod()], online: new Set([OTHER_NODE]) }));
    assert.deepEqual(plan.waits, [{ ...target, reason: 'node-unreachable', until: null, attempt: 0 }]);
    assert.equal(plan.wakeAt, null);
  });

  test('wakeAt is the earliest end of a wait', () => {
    const soon = pod({ podId: 'api' });
    const world = given({
      desired: [pod(), soon],
      history: {
        'acme/web': historyOf({ last: lastAction('create', 0, { ok: false }), failures: 2 }),
        'acme/api': historyOf({ last: lastAction('create', 0, { ok: false }), failures: 1 }),
      },
    });
    assert.deepEqual(pass(world).wakeAt, ago(-BASE_MS));
  });
});
