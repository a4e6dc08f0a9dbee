import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type AgentFrame,
  agentEvents,
  type ContainerSpecInput,
  HealthCheck,
  LogStreamMessage,
  type ObservedContainer,
} from '@agentpod/contracts';
import { ensureTestImages, freePort, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { saveCredential } from './credential/store.ts';
import { DockerRuntime } from './runtime/index.ts';
import { isFrame, startTestGateway, type TestGateway } from './testing/test-gateway.ts';

/*
 * The agent binary (`agentpod-agent run`, as a child process) on the real Docker Engine, against a real
 * WebSocket server speaking the gateway's side of the protocol.
 */

const docker = new Docker();
const runtime = new DockerRuntime(docker, { pull: 'never' });
const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'agentpod-test.run';
const tenantId = `ag-${run}`;
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

type Obs = Extract<AgentFrame, { t: 'obs' }>;
type Changed = { action: string; containerId: string; exitCode: number | null; container: ObservedContainer | null };
type Pub = Extract<AgentFrame, { t: 'pub' }>;
type Health = { containerId: string };

const changed =
  (containerId: string, action: string) =>
  (frame: AgentFrame): frame is Obs =>
    frame.t === 'obs' &&
    frame.type === 'ContainerChanged' &&
    (frame.data as Changed).containerId === containerId &&
    (frame.data as Changed).action === action;
const inventory = (frame: AgentFrame): frame is Obs => frame.t === 'obs' && frame.type === 'InventoryReported';
const pubOf =
  (session: string) =>
  (frame: AgentFrame): frame is Pub =>
    frame.t === 'pub' && frame.session === session;
const message = (frame: Pub) => LogStreamMessage.parse(JSON.parse(frame.data));

async function podSpec(podId: string): Promise<ContainerSpecInput & { ports: { hostPort: number }[] }> {
  return {
    tenantId,
    podId,
    generation: 1,
    image: TEST_IMAGES.node,
    ports: [{ hostPort: await freePort(), containerPort: TEST_APP_PORT }],
    limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
    labels: { [RUN_LABEL]: run },
  };
}

/** Polls until the app answers: the node process takes a moment to listen after the container starts. */
async function get(port: number, path: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('agentpod-agent run on the real Docker Engine', () => {
  let gateway: TestGateway;
  let stateDir: string;
  let agent: ChildProcess;
  let output = '';
  let preCreated: string;
  let containerId: string;
  let hostPort: number;

  before(async () => {
    await ensureTestImages();
    gateway = await startTestGateway();
    stateDir = await mkdtemp(join(tmpdir(), 'agentpod-agent-'));
    const credential = `apn_${randomBytes(24).toString('hex')}`;
    gateway.credentials.add(credential);
    await saveCredential(join(stateDir, 'state'), { gatewayUrl: gateway.url, nodeId: gateway.nodeId, credential });
    // A container that exists before the agent starts: the first hello must report it.
    // Made by an earlier run of this node's agent: it carries the node's label, so this agent adopts it.
    const earlierRun = new DockerRuntime(docker, { pull: 'never', nodeId: () => gateway.nodeId });
    preCreated = (await earlierRun.create(await podSpec('before'))).id;
    const { AGENTPOD_GATEWAY_URL: _, ...env } = process.env;
    agent = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, 'run'], {
      cwd: REPO,
      env: {
        ...env,
        AGENTPOD_AGENT_STATE_DIR: join(stateDir, 'state'),
        AGENTPOD_AGENT_PULL: 'never',
        AGENTPOD_LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await gateway?.close();
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (process.exitCode) process.stderr.write(`agent output:\n${output}\n`);
  });

  test('hello carries the facts and the inventory, including a container made before the agent started', async () => {
    const hello = await gateway.waitFor(isFrame('hello'), 0, 60_000);
    const before = hello.containers.find((c) => c.id === preCreated);
    assert.equal(before?.state, 'created');
    assert.equal(before?.tenantId, tenantId);
    assert.equal(before?.podId, 'before');
    assert.ok(hello.facts.dockerVersion, 'Docker answered');
    assert.ok(hello.facts.cpus > 0 && hello.facts.memoryBytes > 0);
    assert.equal(gateway.frames[0]?.t, 'hello');
  });

  test('createContainer then startContainer: ok, and the container runs and answers', async () => {
    const spec = await podSpec('web');
    hostPort = spec.ports[0]?.hostPort ?? 0;
    const created = await gateway.request('createContainer', { spec });
    assert.ok(created.ok, JSON.stringify(created));
    containerId = (created.result as { containerId: string }).containerId;
    const again = await gateway.request('createContainer', { spec });
    assert.deepEqual(again, { ok: true, result: { containerId, created: false } });
    const started = await gateway.request('startContainer', { containerId });
    assert.deepEqual(started, { ok: true, result: {} });
    assert.equal((await runtime.inspect(containerId))?.state, 'running');
    assert.equal(await (await get(hostPort, '/healthz')).text(), 'ok\n');
    await gateway.waitFor(changed(containerId, 'start'));
  });

  test('a kill -9 of the container’s process: a die observation with 137, then an inventory', async () => {
    const running = await runtime.inspect(containerId);
    assert.ok(running?.pid);
    const mark = gateway.frames.length;
    process.kill(running.pid, 'SIGKILL');
    const die = await gateway.waitFor(changed(containerId, 'die'), mark);
    const data = die.data as Changed;
    assert.equal(data.exitCode, 137);
    assert.equal(data.container?.state, 'exited');
    assert.equal(data.container?.exitCode, 137);
    const report = await gateway.waitFor(inventory, gateway.frames.indexOf(die));
    const listed = (report.data as { containers: ObservedContainer[] }).containers.find((c) => c.id === containerId);
    assert.equal(listed?.state, 'exited');
    // The agent reports; it does not restart on its own (that is the reconciler's decision).
    assert.equal((await runtime.inspect(containerId))?.state, 'exited');
  });

  test('a followed log streams new lines as pub frames, then ends on close', async () => {
    assert.deepEqual(await gateway.request('startContainer', { containerId }), { ok: true, result: {} });
    await get(hostPort, '/before-follow');
    const session = `logs-${run}-a`;
    const reply = await gateway.request('logs', { containerId, tail: 50, sessionId: session });
    assert.ok(reply.ok, JSON.stringify(reply));
    const lines = (reply.result as { lines: { text: string }[] }).lines.map((line) => line.text);
    assert.ok(lines.includes('GET /before-follow'), lines.join('\n'));
    const mark = gateway.frames.length;
    await get(hostPort, '/after-follow');
    const streamed = await gateway.waitFor(
      (frame): frame is Pub => pubOf(session)(frame) && frame.data.includes('GET /after-follow'),
      mark,
    );
    assert.equal(message(streamed).t, 'line');
    const sent = gateway.frames.slice(mark).filter(pubOf(session)).map(message);
    assert.ok(
      !sent.some((m) => m.t === 'line' && m.line.text === 'GET /before-follow'),
      'replied lines are not repeated',
    );
    gateway.send({ t: 'session', session, data: JSON.stringify({ t: 'close' }) });
    const end = await gateway.waitFor(
      (frame): frame is Pub => pubOf(session)(frame) && message(frame).t === 'end',
      mark,
    );
    assert.deepEqual(message(end), { t: 'end' });
  });

  test('a followed log ends when its container stops', async () => {
    const session = `logs-${run}-b`;
    const mark = gateway.frames.length;
    assert.ok((await gateway.request('logs', { containerId, tail: 0, sessionId: session })).ok);
    assert.deepEqual(await gateway.request('stopContainer', { containerId, timeoutSeconds: 5 }), {
      ok: true,
      result: {},
    });
    const end = await gateway.waitFor(
      (frame): frame is Pub => pubOf(session)(frame) && message(frame).t === 'end',
      mark,
    );
    assert.deepEqual(message(end), { t: 'end' });
    assert.deepEqual(await gateway.request('startContainer', { containerId }), { ok: true, result: {} });
    await get(hostPort, '/healthz');
  });

  test('after the gateway closes the socket the agent reconnects and says hello again', async () => {
    const mark = gateway.frames.length;
    const connections = gateway.connections;
    gateway.dropSocket();
    const hello = await gateway.waitFor(isFrame('hello'), mark);
    assert.equal(gateway.connections, connections + 1);
    assert.equal(hello.containers.find((c) => c.id === containerId)?.state, 'running');
    // And it serves requests on the new socket.
    assert.ok((await gateway.request('inventory', {})).ok);
  });

  test('a container with a health check: the agent probes it, sends HealthChanged, reports it in its inventory', async () => {
    const spec = await podSpec('probed');
    spec.health = HealthCheck.parse({
      type: 'http',
      path: '/healthz',
      port: TEST_APP_PORT,
      intervalSeconds: 1,
      startGraceSeconds: 5,
    });
    const mark = gateway.frames.length;
    const created = await gateway.request('createContainer', { spec });
    assert.ok(created.ok, JSON.stringify(created));
    const probedId = (created.result as { containerId: string }).containerId;
    assert.deepEqual(await gateway.request('startContainer', { containerId: probedId }), { ok: true, result: {} });
    const verdict = await gateway.waitFor(
      (frame): frame is Obs =>
        frame.t === 'obs' && frame.type === 'HealthChanged' && (frame.data as Health).containerId === probedId,
      mark,
    );
    const data = agentEvents.HealthChanged.parse(verdict.data);
    const started = await runtime.inspect(probedId);
    assert.deepEqual(
      [data.status, data.tenantId, data.podId, data.generation, data.startedAt],
      ['healthy', tenantId, 'probed', 1, started?.startedAt],
    );
    const reply = await gateway.request('inventory', {});
    assert.ok(reply.ok, JSON.stringify(reply));
    const listed = (reply.result as { containers: ObservedContainer[] }).containers;
    assert.equal(listed.find((c) => c.id === probedId)?.health, 'healthy');
    assert.equal(listed.find((c) => c.id === containerId)?.health, null, 'no check, no verdict');
  });

  test('killing the agent leaves the container running with the same start time', async () => {
    const before = await runtime.inspect(containerId);
    assert.equal(before?.state, 'running');
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGKILL');
    await exited;
    const afterKill = await runtime.inspect(containerId);
    assert.equal(afterKill?.state, 'running');
    assert.equal(afterKill?.startedAt, before?.startedAt);
    assert.equal(afterKill?.pid, before?.pid);
    assert.equal(await (await get(hostPort, '/healthz')).text(), 'ok\n');
    assert.deepEqual(gateway.violations, [], 'every frame the agent sent matches the contract');
  });
});
