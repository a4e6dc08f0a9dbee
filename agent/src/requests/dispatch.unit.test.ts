import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type ContainerSpecInput, type NodeFacts, type Reply, systemActor } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { dispatch } from './dispatch.ts';
import { createOps, type FollowLogs } from './ops.ts';

const logger = createLogger('agent-test', 'silent');
const facts: NodeFacts = {
  hostname: 'node-1',
  os: 'Linux 6',
  arch: 'x64',
  cpus: 2,
  memoryBytes: 1 << 30,
  diskBytes: 1 << 30,
  diskFreeBytes: 1 << 29,
  dockerVersion: '27.0.0',
  agentVersion: '0.1.0',
};
const spec: ContainerSpecInput = {
  tenantId: 'acme',
  podId: 'web',
  generation: 1,
  image: 'agentpod-test/node:1',
  volume: { name: 'agentpod-acme_web', mountPath: '/data' },
  limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
};

function setup(options: { failFacts?: unknown } = {}) {
  const runtime = new MemoryRuntime();
  const followed: Parameters<FollowLogs>[0][] = [];
  const handlers = createOps({
    runtime,
    facts: async () => {
      if (options.failFacts) throw options.failFacts;
      return facts;
    },
    followLogs: (session) => followed.push(session),
  });
  const call = async (op: string, data: unknown, rawBody?: string): Promise<Reply> => {
    const body =
      rawBody ?? JSON.stringify({ meta: { actor: systemActor('reconciler'), correlationId: 'corr-1' }, data });
    return JSON.parse(await dispatch({ op, body }, handlers, logger)) as Reply;
  };
  const ok = async (op: string, data: unknown) => {
    const reply = await call(op, data);
    assert.ok(reply.ok, `${op} failed: ${JSON.stringify(reply)}`);
    return reply.result as Record<string, unknown>;
  };
  return { runtime, followed, call, ok };
}

describe('agent op dispatch', () => {
  test('an unknown op is invalid and names the op', async () => {
    const { call } = setup();
    const reply = await call('execShell', {});
    assert.deepEqual(reply, { ok: false, error: { code: 'invalid', message: 'unknown agent operation "execShell"' } });
  });

  test('a body that is not a request, or data the op does not take, is invalid with details', async () => {
    const { call } = setup();
    const notJson = await call('facts', {}, 'not json');
    assert.equal(!notJson.ok && notJson.error.code, 'invalid');
    const noMeta = await call('facts', {}, JSON.stringify({ data: {} }));
    assert.equal(!noMeta.ok && noMeta.error.code, 'invalid');
    const extra = await call('facts', { please: 'also this' });
    assert.equal(!extra.ok && extra.error.code, 'invalid');
    const privileged = await call('createContainer', { spec: { ...spec, privileged: true } });
    assert.ok(!privileged.ok && privileged.error.code === 'invalid' && Array.isArray(privileged.error.details));
  });

  test('createContainer then startContainer: the container runs; both are idempotent', async () => {
    const { runtime, ok } = setup();
    const first = await ok('createContainer', { spec });
    assert.equal(first.created, true);
    const again = await ok('createContainer', { spec });
    assert.deepEqual(again, { containerId: first.containerId, created: false });
    const containerId = first.containerId as string;
    assert.deepEqual(await ok('startContainer', { containerId }), {});
    assert.deepEqual(await ok('startContainer', { containerId }), {});
    assert.equal(runtime.containers.get(containerId)?.state, 'running');
    const { containers } = (await ok('inventory', {})) as { containers: { id: string; state: string }[] };
    assert.deepEqual(
      containers.map((c) => [c.id, c.state]),
      [[containerId, 'running']],
    );
  });

  test('stopContainer applies the default timeout; stop and remove of a missing container succeed', async () => {
    const { runtime, ok } = setup();
    const { containerId } = (await ok('createContainer', { spec })) as { containerId: string };
    await ok('startContainer', { containerId });
    await ok('stopContainer', { containerId });
    assert.equal(runtime.containers.get(containerId)?.state, 'exited');
    await ok('removeContainer', { containerId, volume: 'agentpod-acme_web' });
    assert.equal(runtime.containers.size, 0);
    assert.equal(runtime.volumes.size, 0);
    await ok('stopContainer', { containerId });
    await ok('removeContainer', { containerId });
  });

  test('a container or volume that is not AgentPod’s is refused', async () => {
    const { runtime, call, ok } = setup();
    const { containerId } = (await ok('createContainer', { spec })) as { containerId: string };
    const base = await runtime.inspect(containerId);
    assert.ok(base);
    runtime.put({ ...base, id: 'postgres-of-the-host', name: 'postgres', labels: {} });
    for (const op of ['startContainer', 'stopContainer', 'restartContainer', 'removeContainer', 'logs']) {
      const reply = await call(op, { containerId: 'postgres-of-the-host' });
      assert.equal(!reply.ok && reply.error.code, 'forbidden', op);
    }
    assert.equal(runtime.containers.get('postgres-of-the-host')?.state, base.state);
    const volume = await call('removeVolume', { name: 'pgdata' });
    assert.equal(!volume.ok && volume.error.code, 'invalid');
    const withVolume = await call('removeContainer', { containerId, volume: 'pgdata' });
    assert.equal(!withVolume.ok && withVolume.error.code, 'invalid');
  });

  test('logs: the tail in the reply, and with a session id the follow starts after the last line', async () => {
    const { runtime, followed, ok } = setup();
    const { containerId } = (await ok('createContainer', { spec })) as { containerId: string };
    runtime.logLines = [
      { stream: 'stdout', time: '2025-01-01T00:00:00.1Z', text: 'one' },
      { stream: 'stderr', time: '2025-01-01T00:00:00.2Z', text: 'two' },
    ];
    assert.deepEqual(await ok('logs', { containerId }), { lines: runtime.logLines });
    assert.equal(followed.length, 0);
    await ok('logs', { containerId, tail: 2, sessionId: 'session-0001' });
    assert.deepEqual(followed, [{ sessionId: 'session-0001', containerId, after: runtime.logLines[1] }]);
  });

  test('a catalogue error is replied as it is; anything else is internal with the correlation id', async () => {
    const missing = await setup().call('startContainer', { containerId: 'nope' });
    assert.deepEqual(missing, { ok: false, error: { code: 'not_found', message: 'No such container: nope' } });
    const conflict = await setup({ failFacts: new AppError('unavailable', 'Docker is not reachable') }).call(
      'facts',
      {},
    );
    assert.deepEqual(conflict, { ok: false, error: { code: 'unavailable', message: 'Docker is not reachable' } });
    const bug = await setup({ failFacts: new TypeError('x is undefined') }).call('facts', {});
    assert.deepEqual(bug, {
      ok: false,
      error: { code: 'internal', message: 'internal error; the service log has the details', correlationId: 'corr-1' },
    });
  });

  test('facts answers with the node facts', async () => {
    assert.deepEqual(await setup().ok('facts', {}), facts);
  });
});
