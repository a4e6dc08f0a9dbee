import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AgentFrame, ContainerSpecInput, NodeFacts } from '@agentpod/contracts';
import { startAgent } from '../agent.ts';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { recordingLogger } from '../testing/recording-logger.ts';
import { isFrame, startTestGateway, type TestGateway } from '../testing/test-gateway.ts';
import { ReconnectBackoff } from './backoff.ts';
import { agentSocketUrl } from './frames.ts';

/*
 * The agent's connection against a real WebSocket server speaking the gateway's side of the protocol. The
 * container runtime is the in-memory one: what is under test is the socket, not Docker (agent.int.test.ts).
 */

const facts: NodeFacts = {
  hostname: 'memory',
  os: 'Linux',
  arch: 'x64',
  cpus: 1,
  memoryBytes: 1 << 30,
  diskBytes: 1 << 30,
  diskFreeBytes: 1 << 29,
  dockerVersion: null,
  agentVersion: '0.1.0',
};
const spec: ContainerSpecInput = {
  tenantId: 'acme',
  podId: 'web',
  generation: 1,
  image: 'agentpod-test/node:1',
  limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
};
const CREDENTIAL = `apn_${'a'.repeat(40)}`;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The in-memory runtime, with inspects of the container `slow` held until the test lets them go. */
class GatedRuntime extends MemoryRuntime {
  release: () => void = () => {};
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  override async inspect(ref: string) {
    if (ref === 'slow') await this.gate;
    return super.inspect(ref);
  }
}

async function setup(options: { accept?: boolean } = {}) {
  const gateway = await startTestGateway();
  cleanups.push(() => gateway.close());
  if (options.accept !== false) gateway.credentials.add(CREDENTIAL);
  const runtime = new GatedRuntime();
  const { id } = await runtime.create(spec);
  await runtime.start(id);
  const log = recordingLogger();
  const agent = startAgent({
    runtime,
    logger: log.logger,
    facts: async () => facts,
    target: async () => ({ url: agentSocketUrl(gateway.url), credential: CREDENTIAL }),
    heartbeatMs: 50,
    settleMs: 20,
    backoff: new ReconnectBackoff({ initialMs: 20, maxMs: 200, jitter: 0.5 }),
  });
  cleanups.push(() => agent.stop());
  return { gateway, runtime, agent, log, containerId: id };
}

const hellos = (gateway: TestGateway) => gateway.frames.filter(isFrame('hello')).length;

describe('agent connection (real WebSocket, in-memory runtime)', () => {
  test('hello carries the facts and the inventory, then heartbeats follow', async () => {
    const { gateway, containerId } = await setup();
    const hello = await gateway.waitFor(isFrame('hello'));
    assert.deepEqual(hello.facts, facts);
    assert.deepEqual(
      hello.containers.map((c) => [c.id, c.state]),
      [[containerId, 'running']],
    );
    assert.equal(gateway.frames[0]?.t, 'hello', 'hello is the first frame');
    const hb = await gateway.waitFor(isFrame('hb'));
    assert.ok(!Number.isNaN(Date.parse(hb.at)));
    assert.deepEqual(gateway.violations, []);
  });

  test('a refused credential is logged as such and asked again until it is accepted', async () => {
    const { gateway, log } = await setup({ accept: false });
    while (gateway.refusals < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = log.lines.filter((line) => line.level !== 'debug' && line.message.includes('credential refused'));
    assert.equal(refused[0]?.level, 'error');
    assert.match(refused[0]?.message ?? '', /node removed\?/);
    assert.equal(refused.length, 1, 'the same refusal is logged once, not at every attempt');
    gateway.credentials.add(CREDENTIAL);
    await gateway.waitFor(isFrame('hello'));
    assert.ok(log.messages().includes('connected to the control plane'));
  });

  test('after the gateway drops the socket the agent dials again and says hello again', async () => {
    const { gateway } = await setup();
    await gateway.waitFor(isFrame('hello'));
    const mark = gateway.frames.length;
    gateway.dropSocket();
    await gateway.waitFor(isFrame('hello'), mark);
    assert.equal(gateway.connections, 2);
    assert.equal(hellos(gateway), 2);
  });

  test('changes while disconnected arrive after the next hello, followed by a fresh inventory', async () => {
    const { gateway, runtime, agent, containerId } = await setup();
    await gateway.waitFor(isFrame('hello'));
    gateway.credentials.clear();
    gateway.dropSocket();
    while (gateway.refusals < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const container = runtime.containers.get(containerId);
    assert.ok(container);
    runtime.exit(container, 137);
    while (agent.connection.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5)); // observed while down
    const mark = gateway.frames.length;
    gateway.credentials.add(CREDENTIAL);
    const hello = await gateway.waitFor(isFrame('hello'), mark);
    const die = await gateway.waitFor(
      (frame): frame is Extract<AgentFrame, { t: 'obs' }> =>
        frame.t === 'obs' && frame.type === 'ContainerChanged' && (frame.data as { action: string }).action === 'die',
      mark,
    );
    assert.equal((die.data as { exitCode: number }).exitCode, 137);
    assert.ok(gateway.frames.indexOf(hello) < gateway.frames.indexOf(die), 'hello first');
    const inventory = await gateway.waitFor(
      (frame): frame is Extract<AgentFrame, { t: 'obs' }> => frame.t === 'obs' && frame.type === 'InventoryReported',
      gateway.frames.indexOf(die),
    );
    assert.deepEqual(
      (inventory.data as { containers: { state: string }[] }).containers.map((c) => c.state),
      ['exited'],
    );
  });

  test('malformed frames are dropped and the socket stays; requests are answered by id', async () => {
    const { gateway, agent } = await setup();
    await gateway.waitFor(isFrame('hello'));
    gateway.sendRaw('not json');
    gateway.sendRaw('{"t":"exec","cmd":"sh"}');
    const reply = await gateway.request('facts', {});
    assert.deepEqual(reply, { ok: true, result: facts });
    const unknown = await gateway.request('format', {});
    assert.equal(!unknown.ok && unknown.error.code, 'invalid');
    assert.equal(agent.connection.droppedFrames, 2);
    assert.equal(gateway.connections, 1);
  });

  test('a reply whose socket dropped meanwhile is not written to the next socket', async () => {
    const { gateway, runtime } = await setup();
    await gateway.waitFor(isFrame('hello'));
    gateway.send({
      t: 'req',
      id: '1',
      op: 'startContainer',
      body: JSON.stringify({
        meta: { actor: { kind: 'system', id: 'test' }, correlationId: 'c1' },
        data: { containerId: 'slow' },
      }),
    });
    const mark = gateway.frames.length;
    gateway.dropSocket();
    await gateway.waitFor(isFrame('hello'), mark);
    runtime.release();
    // The stale reply settles before this request even reaches the agent; had it been written, it would be here.
    assert.ok((await gateway.request('inventory', {})).ok);
    assert.deepEqual(
      gateway.frames.filter((frame) => frame.t === 'res' && frame.id === '1'),
      [],
    );
  });

  test('a bye is logged; stopping the agent closes the socket and touches no container', async () => {
    const { gateway, runtime, agent, log, containerId } = await setup();
    await gateway.waitFor(isFrame('hello'));
    gateway.send({ t: 'bye', reason: 'node removed' });
    while (!log.messages().some((m) => m.includes('node removed')))
      await new Promise((resolve) => setTimeout(resolve, 10));
    const before = [...runtime.calls];
    await agent.stop();
    assert.deepEqual(runtime.calls, before);
    assert.equal(runtime.containers.get(containerId)?.state, 'running');
  });
});
