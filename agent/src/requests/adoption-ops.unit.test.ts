import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ContainerDescription,
  type ContainerSpecInput,
  containerName,
  type KeptMount,
  type ObservedContainer,
  PodLabels,
  type Reply,
  systemActor,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { dispatch } from './dispatch.ts';
import { createOps } from './ops.ts';

const logger = createLogger('agent-test', 'silent');
const LEGACY = `l${'1'.repeat(63)}`;
const mounts: KeptMount[] = [
  { type: 'volume', source: 'legacy-data', destination: '/data', readOnly: false },
  { type: 'bind', source: '/srv/legacy', destination: '/srv', readOnly: false },
];
const target = { tenantId: 'acme', podId: 'legacy', generation: 1 };
const spec = (generation: number, extra: Partial<ContainerSpecInput> = {}): ContainerSpecInput => ({
  tenantId: 'acme',
  podId: 'legacy',
  generation,
  image: 'agentpod-test/node:1',
  limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
  ...extra,
});

function setup() {
  const runtime = new MemoryRuntime();
  runtime.putUnmanaged(LEGACY, 'legacy-web', { env: { DB_PASSWORD: 'hunter2' }, mounts });
  let inventories = 0;
  const handlers = createOps({
    runtime,
    facts: async () => ({}) as never,
    followLogs: () => {},
    onAdopted: () => inventories++,
  });
  const call = async (op: string, data: unknown): Promise<Reply> =>
    JSON.parse(
      await dispatch(
        { op, body: JSON.stringify({ meta: { actor: systemActor('pods'), correlationId: 'c' }, data }) },
        handlers,
        logger,
      ),
    ) as Reply;
  const ok = async <T>(op: string, data: unknown): Promise<T> => {
    const reply = await call(op, data);
    assert.ok(reply.ok, `${op}: ${JSON.stringify(reply)}`);
    return reply.result as T;
  };
  const code = async (op: string, data: unknown) => {
    const reply = await call(op, data);
    return reply.ok ? 'ok' : reply.error.code;
  };
  return { runtime, call, ok, code, inventories: () => inventories };
}

describe('agent ops: discovering and adopting containers AgentPod did not make', () => {
  test('discoverContainers lists unmanaged containers with env names only, not AgentPod’s own', async () => {
    const { runtime, ok } = setup();
    await runtime.create(spec(1, { podId: 'managed' }));
    const { containers } = await ok<{ containers: UnmanagedContainer[] }>('discoverContainers', {});
    assert.deepEqual(
      containers.map((c) => [c.id, c.envKeys]),
      [[LEGACY, ['DB_PASSWORD']]],
    );
    assert.ok(!JSON.stringify(containers).includes('hunter2'));
  });

  test('describeContainer has the values; an unknown container is not_found, a managed one conflict', async () => {
    const { runtime, ok, code } = setup();
    const described = await ok<ContainerDescription>('describeContainer', { containerId: 'legacy-web' });
    assert.deepEqual(described.env, { DB_PASSWORD: 'hunter2' });
    assert.equal(await code('describeContainer', { containerId: 'nope' }), 'not_found');
    const { id } = await runtime.create(spec(1, { podId: 'managed' }));
    assert.equal(await code('describeContainer', { containerId: id }), 'conflict');
  });

  test('adoptContainer: renamed, reported with the pod’s labels from then on; again the same; refused twice over', async () => {
    const { runtime, ok, code, inventories } = setup();
    const adopted = await ok<ObservedContainer>('adoptContainer', { containerId: 'legacy-web', ...target });
    assert.equal(adopted.id, LEGACY);
    assert.equal(adopted.name, containerName('acme', 'legacy', 1));
    assert.equal(adopted.labels[PodLabels.pod], 'acme/legacy');
    assert.equal(adopted.state, 'running');
    assert.equal(inventories(), 1, 'a fresh inventory follows');
    const { containers } = await ok<{ containers: ObservedContainer[] }>('inventory', {});
    assert.deepEqual(
      containers.map((c) => [c.id, c.tenantId, c.podId, c.generation]),
      [[LEGACY, 'acme', 'legacy', 1]],
    );
    assert.deepEqual(await ok('adoptContainer', { containerId: LEGACY, ...target }), adopted);
    assert.equal(await code('adoptContainer', { containerId: LEGACY, ...target, podId: 'other' }), 'conflict');
    const { id } = await runtime.create(spec(1, { podId: 'managed' }));
    assert.equal(await code('adoptContainer', { containerId: id, ...target, podId: 'managed' }), 'conflict');
    assert.equal(await code('adoptContainer', { containerId: 'nope', ...target, podId: 'nope' }), 'not_found');
    // Once adopted it is AgentPod's: the ordinary operations act on it.
    assert.equal(await code('stopContainer', { containerId: LEGACY }), 'ok');
  });

  test('a create carrying the adoption takes the container over instead of making a second one', async () => {
    const { runtime, ok, inventories } = setup();
    const created = await ok<{ containerId: string; created: boolean }>('createContainer', {
      spec: spec(1, { adopt: { containerId: LEGACY }, keptMounts: mounts }),
    });
    assert.deepEqual(created, { containerId: LEGACY, created: false });
    assert.equal(runtime.containers.size, 1);
    assert.equal(inventories(), 1);
  });

  test('kept mounts: only those a container adopted for the pod had; a later generation keeps them', async () => {
    const { ok, code } = setup();
    assert.equal(await code('createContainer', { spec: spec(2, { keptMounts: mounts }) }), 'forbidden');
    await ok('adoptContainer', { containerId: LEGACY, ...target });
    const next = await ok<{ created: boolean }>('createContainer', { spec: spec(2, { keptMounts: mounts }) });
    assert.equal(next.created, true);
    const root: KeptMount = { type: 'bind', source: '/', destination: '/host', readOnly: false };
    assert.equal(await code('createContainer', { spec: spec(3, { keptMounts: [...mounts, root] }) }), 'forbidden');
    assert.equal(
      await code('createContainer', { spec: spec(1, { podId: 'thief', keptMounts: mounts }) }),
      'forbidden',
      'another pod may not mount them',
    );
  });
});
