import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type ContainerSpecInput, type Reply, systemActor } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { dispatch } from './dispatch.ts';
import { createLimiter } from './limiter.ts';
import { createOps, type OpHandlers } from './ops.ts';
import { PodLanes } from './pod-lanes.ts';
import { laneOf, podSchedule } from './schedule.ts';

const logger = createLogger('agent-test', 'silent');
const spec = (podId: string, generation = 1): ContainerSpecInput => ({
  tenantId: 'acme',
  podId,
  generation,
  image: 'agentpod-test/node:1',
  limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
});
const deferred = () => {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The agent's request path (dispatch through the pod schedule) over the in-memory runtime, with every start and
 * stop held at a gate until the test opens it, and a log of when each began and ended.
 */
async function setup(concurrency = 16) {
  const runtime = new MemoryRuntime();
  const ops = createOps({ runtime, facts: async () => ({}) as never, followLogs: () => {} });
  const gates = new Map<string, ReturnType<typeof deferred>>();
  const log: string[] = [];
  const held =
    <K extends 'startContainer' | 'stopContainer' | 'removeContainer'>(op: K) =>
    async (input: Parameters<OpHandlers[K]>[0]) => {
      const gate = deferred();
      gates.set(`${op} ${input.containerId}`, gate);
      log.push(`begin ${op} ${input.containerId}`);
      await gate.promise;
      log.push(`end ${op} ${input.containerId}`);
      return (ops[op] as (i: typeof input) => Promise<Record<string, never>>)(input);
    };
  const handlers: OpHandlers = {
    ...ops,
    startContainer: held('startContainer'),
    stopContainer: held('stopContainer'),
    removeContainer: held('removeContainer'),
  };
  const schedule = podSchedule({ runtime, limiter: createLimiter(concurrency), lanes: new PodLanes() });
  const call = async (op: string, data: unknown): Promise<Reply> =>
    JSON.parse(
      await dispatch(
        { op, body: JSON.stringify({ meta: { actor: systemActor('reconciler'), correlationId: 'c' }, data }) },
        handlers,
        logger,
        schedule,
      ),
    ) as Reply;
  const open = (key: string) => {
    const gate = gates.get(key);
    assert.ok(gate, `${key} has not begun`);
    gate.resolve();
  };
  const web = (await runtime.create(spec('web'))).id;
  const db = (await runtime.create(spec('dbase'))).id;
  return { runtime, call, open, log, web, db };
}

describe('the agent runs one operation per pod at a time', () => {
  test('a second operation on the same pod waits until the first has ended; another pod does not wait', async () => {
    const { call, open, log, web, db } = await setup();
    const first = call('startContainer', { containerId: web });
    await tick();
    const second = call('stopContainer', { containerId: web, timeoutSeconds: 1 });
    const other = call('startContainer', { containerId: db });
    await tick();
    await tick();
    assert.deepEqual(log, [`begin startContainer ${web}`, `begin startContainer ${db}`]);
    open(`startContainer ${db}`);
    assert.ok((await other).ok, 'the other pod went ahead');
    assert.ok(!log.includes(`begin stopContainer ${web}`), 'still waiting for the start of its pod');
    open(`startContainer ${web}`);
    assert.ok((await first).ok);
    while (!log.includes(`begin stopContainer ${web}`)) await tick();
    open(`stopContainer ${web}`);
    assert.ok((await second).ok);
    assert.deepEqual(
      log.filter((line) => line.endsWith(web)),
      [
        `begin startContainer ${web}`,
        `end startContainer ${web}`,
        `begin stopContainer ${web}`,
        `end stopContainer ${web}`,
      ],
    );
  });

  test('a create of the pod’s next generation waits for the removal of its old container (one lane per pod)', async () => {
    const { call, open, log, web } = await setup();
    const removing = call('removeContainer', { containerId: web });
    await tick();
    const creating = call('createContainer', { spec: spec('web', 2) });
    await tick();
    await tick();
    let created = false;
    void creating.then(() => (created = true));
    await tick();
    assert.equal(created, false, 'the create waits for the removal');
    open(`removeContainer ${web}`);
    assert.ok((await removing).ok);
    const reply = await creating;
    assert.ok(reply.ok, JSON.stringify(reply));
    assert.deepEqual(log, [`begin removeContainer ${web}`, `end removeContainer ${web}`]);
  });

  test('an operation waiting for its pod holds no slot: with one slot, another pod still runs', async () => {
    const { call, open, log, web, db } = await setup(1);
    const first = call('startContainer', { containerId: web });
    await tick();
    const queued = call('restartContainer', { containerId: web });
    await tick();
    open(`startContainer ${web}`);
    await first;
    const other = call('startContainer', { containerId: db });
    while (!log.includes(`begin startContainer ${db}`)) await tick();
    open(`startContainer ${db}`);
    assert.ok((await other).ok);
    assert.ok((await queued).ok);
  });

  test('a lane that is full refuses at once with unavailable', async () => {
    const lanes = new PodLanes(1);
    const gate = deferred();
    const running = lanes.run('acme/web', () => gate.promise);
    await tick();
    const waiting = lanes.run('acme/web', async () => 'second');
    await assert.rejects(
      lanes.run('acme/web', async () => 'third'),
      (error: unknown) => error instanceof AppError && error.code === 'unavailable',
    );
    gate.resolve();
    await running;
    assert.equal(await waiting, 'second');
    assert.equal(lanes.size, 0, 'nothing kept once the pod is idle');
  });

  test('lanes: by the spec’s pod, the container’s pod label, the volume’s pod; none for reads', async () => {
    const runtime = new MemoryRuntime();
    const { id } = await runtime.create(spec('web'));
    assert.equal(await laneOf('createContainer', { spec: spec('web') }, runtime), 'acme/web');
    assert.equal(await laneOf('stopContainer', { containerId: id }, runtime), 'acme/web');
    assert.equal(await laneOf('removeContainer', { containerId: 'gone' }, runtime), 'container:gone');
    assert.equal(await laneOf('removeVolume', { name: 'agentpod-acme_web' }, runtime), 'acme/web');
    assert.equal(
      await laneOf('adoptContainer', { containerId: 'x', tenantId: 'acme', podId: 'web', generation: 1 }, runtime),
      'acme/web',
    );
    for (const op of ['facts', 'inventory', 'logs', 'discoverContainers', 'describeContainer'] as const)
      assert.equal(await laneOf(op, { containerId: id }, runtime), null);
  });

  test('workspace operations take no lane: a terminal opens and files move while the pod waits on a create', async () => {
    const runtime = new MemoryRuntime();
    const { id } = await runtime.create(spec('web'));
    const workspaceOps = ['terminalOpen', 'fileList', 'fileStat', 'fileDownload', 'fileUpload'] as const;
    for (const op of [...workspaceOps, 'fileMkdir', 'fileMove', 'fileDelete', 'fileChmod'] as const)
      assert.equal(await laneOf(op, { target: { kind: 'container', containerId: id } }, runtime), null);
    const schedule = podSchedule({ runtime, limiter: createLimiter(4), lanes: new PodLanes() });
    const slow = deferred();
    const creating = schedule('createContainer', { spec: spec('web', 2) }, () => slow.promise);
    await tick();
    const target = { kind: 'container', containerId: id };
    assert.equal(await schedule('terminalOpen', { sessionId: 'abcdefgh', target }, async () => 'open'), 'open');
    assert.equal(await schedule('fileMove', { from: '/a', to: '/b' }, async () => 'moved'), 'moved');
    slow.resolve();
    await creating;
  });
});
