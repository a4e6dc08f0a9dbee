import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReconcileAction } from '@agentpod/contracts';
import { NO_HISTORY, type PodHistory } from './model.ts';
import { container, given, NODE, NOW, OTHER_NODE, pod, RETRY_MS, when } from './world.testing.ts';

const target = { tenantId: 'acme', podId: 'web', nodeId: NODE, generation: 1 };
const history = (overrides: Partial<PodHistory>): Record<string, PodHistory> => ({
  'acme/web': { ...NO_HISTORY, ...overrides },
});
const failed = (action: ReconcileAction, msAgo: number) =>
  history({ last: { action, generation: 1, ok: false, at: new Date(NOW.getTime() - msAgo) }, failures: 1 });

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

  test('created but never started, it is started', () => {
    const c = container({ state: 'created' });
    assert.deepEqual(when(given({ desired: [pod()], observed: [c] })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null },
    ]);
  });

  test('exited under restart policy always, it is started again', () => {
    const c = container({ state: 'exited', exitCode: 0 });
    assert.deepEqual(when(given({ desired: [pod()], observed: [c] })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null },
    ]);
  });

  test('on-failure starts it after a non-zero exit only; never leaves it', () => {
    const clean = container({ state: 'exited', exitCode: 0 });
    const crashed = container({ state: 'exited', exitCode: 137 });
    const onFailure = pod({ restartPolicy: 'on-failure' });
    assert.deepEqual(when(given({ desired: [onFailure], observed: [clean] })), []);
    assert.deepEqual(when(given({ desired: [onFailure], observed: [crashed] })), [
      { kind: 'start', ...target, containerId: crashed.containerId, cause: null },
    ]);
    assert.deepEqual(when(given({ desired: [pod({ restartPolicy: 'never' })], observed: [crashed] })), []);
  });

  test('stopped by the reconciler and wanted running again, it is started whatever its policy', () => {
    const c = container({ state: 'exited', exitCode: 0 });
    const stopped = history({ last: { action: 'stop', generation: 1, ok: true, at: NOW } });
    assert.deepEqual(when(given({ desired: [pod({ restartPolicy: 'never' })], observed: [c], history: stopped })), [
      { kind: 'start', ...target, containerId: c.containerId, cause: null },
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
      { kind: 'restart', ...target, containerId: c.containerId, cause: 'evt-restart-1' },
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
  test('a failed create is not tried again before the retry delay, then it is', () => {
    const world = given({ desired: [pod()], history: failed('create', RETRY_MS - 1) });
    assert.deepEqual(when(world), []);
    const later = given({ desired: [pod()], history: failed('create', RETRY_MS) });
    assert.deepEqual(when(later), [{ kind: 'create', ...target, cause: null }]);
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
});
