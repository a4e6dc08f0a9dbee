import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type AgentFrame,
  type ContainerDescription,
  type ContainerSpecInput,
  containerName,
  type ObservedContainer,
  PodLabels,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import { ensureTestImages, freePort, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { saveCredential } from './credential/store.ts';
import { DockerRuntime } from './runtime/index.ts';
import { isFrame, startTestGateway, type TestGateway } from './testing/test-gateway.ts';

/*
 * Adoption on the real Docker Engine, through the agent binary (`agentpod-agent run`) against a real peer of the
 * gateway: a container made by hand (a named volume, a bind mount, a published port, Docker restarting it) is
 * discovered, described and adopted without a restart, reported as its pod's from then on — also by an agent
 * that restarted — and its pod's next generation mounts the same data.
 */

const docker = new Docker();
const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'agentpod-test.run';
const tenantId = `ad-${run}`;
const podId = 'legacy';
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

type Obs = Extract<AgentFrame, { t: 'obs' }>;
type Changed = { action: string; containerId: string; tenantId: string; podId: string; generation: number };

async function get(port: number, path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(2_000) });
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('adopting a container made by hand, on the real Docker Engine', () => {
  let gateway: TestGateway;
  let dir: string;
  let agent: ChildProcess | undefined;
  let output = '';
  let legacyId: string;
  let labelledId: string;
  let startedAt: string;
  let hostPort: number;
  const volume = `agentpod-test-legacy-${run}`;

  const startAgentProcess = () => {
    const { AGENTPOD_GATEWAY_URL: _, ...env } = process.env;
    agent = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, 'run'], {
      cwd: REPO,
      env: { ...env, AGENTPOD_AGENT_STATE_DIR: join(dir, 'state'), AGENTPOD_AGENT_PULL: 'never' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agent.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  };
  const ok = async <T>(op: string, data: unknown): Promise<T> => {
    const reply = await gateway.request(op, data);
    assert.ok(reply.ok, `${op}: ${JSON.stringify(reply)}`);
    return reply.result as T;
  };
  const code = async (op: string, data: unknown) => {
    const reply = await gateway.request(op, data);
    return reply.ok ? 'ok' : reply.error.code;
  };

  before(async () => {
    await ensureTestImages();
    gateway = await startTestGateway();
    dir = await mkdtemp(join(tmpdir(), 'agentpod-adoption-'));
    const credential = `apn_${randomBytes(24).toString('hex')}`;
    gateway.credentials.add(credential);
    await saveCredential(join(dir, 'state'), { gatewayUrl: gateway.url, nodeId: gateway.nodeId, credential });
    await writeFile(join(dir, 'bind-file'), 'from the host\n');
    hostPort = await freePort();
    // As someone would have run it by hand: `docker run -d --restart unless-stopped -v … -v … -p …`.
    const legacy = await docker.createContainer({
      name: `legacy-${run}`,
      Image: TEST_IMAGES.node,
      Env: ['DB_PASSWORD=hunter2'],
      Labels: { [RUN_LABEL]: run },
      ExposedPorts: { [`${TEST_APP_PORT}/tcp`]: {} },
      HostConfig: {
        Binds: [`${volume}:/data`, `${dir}:/bind`],
        PortBindings: { [`${TEST_APP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    await legacy.start();
    legacyId = legacy.id;
    startedAt = (await legacy.inspect()).State.StartedAt;
    assert.equal((await get(hostPort, '/data/note', { method: 'PUT', body: 'kept\n' })).status, 201);
    // One of AgentPod's own, on this node: never listed as unmanaged.
    const labelled = new DockerRuntime(docker, { pull: 'never', nodeId: () => gateway.nodeId });
    const spec: ContainerSpecInput = {
      tenantId,
      podId: 'managed',
      generation: 1,
      image: TEST_IMAGES.busybox,
      cmd: ['sleep', '600'],
      limits: { memoryBytes: 64 << 20, cpus: 0.25, pids: 32 },
      labels: { [RUN_LABEL]: run },
    };
    labelledId = (await labelled.create(spec)).id;
    startAgentProcess();
    await gateway.waitFor(isFrame('hello'), 0, 60_000);
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await gateway?.close();
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
    await docker
      .getVolume(volume)
      .remove()
      .catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    if (process.exitCode) process.stderr.write(`agent output:\n${output}\n`);
  });

  test('discover lists the hand-made container with its mounts and env names, not AgentPod’s own', async () => {
    const { containers } = await ok<{ containers: UnmanagedContainer[] }>('discoverContainers', {});
    const legacy = containers.find((c) => c.id === legacyId);
    assert.ok(legacy, 'the hand-made container is listed');
    assert.equal(legacy.name, `legacy-${run}`);
    assert.equal(legacy.state, 'running');
    assert.deepEqual(legacy.ports, [{ containerPort: TEST_APP_PORT, protocol: 'tcp', hostIp: '127.0.0.1', hostPort }]);
    assert.deepEqual(legacy.mounts.map((m) => [m.type, m.source, m.destination]).sort(), [
      ['bind', dir, '/bind'],
      ['volume', volume, '/data'],
    ]);
    assert.ok(legacy.envKeys.includes('DB_PASSWORD'));
    assert.ok(!JSON.stringify(containers).includes('hunter2'), 'env values never in a listing');
    assert.ok(!containers.some((c) => c.id === labelledId), 'an AgentPod container is not unmanaged');
  });

  test('describe has what the pods service records; AgentPod’s own container is refused', async () => {
    const described = await ok<ContainerDescription>('describeContainer', { containerId: `legacy-${run}` });
    assert.deepEqual(described.env, { DB_PASSWORD: 'hunter2' });
    assert.equal(described.cmd, null, 'the image’s own command');
    assert.equal(described.restartPolicy, 'unless-stopped');
    assert.deepEqual(described.escalations, []);
    assert.equal(await code('describeContainer', { containerId: labelledId }), 'conflict');
    assert.equal(await code('describeContainer', { containerId: `nothing-${run}` }), 'not_found');
  });

  test('adopt: same container, not restarted, renamed, reported with the pod’s labels', async () => {
    const mark = gateway.frames.length;
    const adopted = await ok<ObservedContainer>('adoptContainer', {
      containerId: `legacy-${run}`,
      tenantId,
      podId,
      generation: 1,
    });
    assert.equal(adopted.id, legacyId);
    assert.equal(adopted.name, containerName(tenantId, podId, 1));
    assert.deepEqual([adopted.tenantId, adopted.podId, adopted.generation], [tenantId, podId, 1]);
    assert.equal(adopted.labels[PodLabels.node], gateway.nodeId);
    const info = await docker.getContainer(legacyId).inspect();
    assert.equal(info.State.StartedAt, startedAt, 'not restarted');
    assert.equal(info.RestartCount, 0);
    assert.equal(info.HostConfig.RestartPolicy?.Name, 'no', 'the reconciler heals it from now on, not Docker');
    assert.equal(await (await get(hostPort, '/data/note')).text(), 'kept\n');
    const report = await gateway.waitFor(
      (frame): frame is Obs =>
        frame.t === 'obs' &&
        frame.type === 'InventoryReported' &&
        (frame.data as { containers: ObservedContainer[] }).containers.some((c) => c.id === legacyId),
      mark,
    );
    const listed = (report.data as { containers: ObservedContainer[] }).containers.find((c) => c.id === legacyId);
    assert.equal(listed?.labels[PodLabels.pod], `${tenantId}/${podId}`);
    const { containers } = await ok<{ containers: UnmanagedContainer[] }>('discoverContainers', {});
    assert.ok(!containers.some((c) => c.id === legacyId), 'no longer unmanaged');
    // Again: the same answer; as another pod: refused.
    assert.equal(
      (await ok<ObservedContainer>('adoptContainer', { containerId: legacyId, tenantId, podId, generation: 1 })).id,
      legacyId,
    );
    assert.equal(
      await code('adoptContainer', { containerId: legacyId, tenantId, podId: 'other', generation: 1 }),
      'conflict',
    );
    assert.equal(
      await code('adoptContainer', { containerId: labelledId, tenantId, podId: 'managed', generation: 1 }),
      'conflict',
    );
  });

  test('its events are its pod’s: a kill -9 of its process is a die of the pod', async () => {
    const mark = gateway.frames.length;
    const { State } = await docker.getContainer(legacyId).inspect();
    process.kill(State.Pid, 'SIGKILL');
    const die = await gateway.waitFor(
      (frame): frame is Obs =>
        frame.t === 'obs' && frame.type === 'ContainerChanged' && (frame.data as Changed).containerId === legacyId,
      mark,
    );
    const data = die.data as Changed;
    assert.deepEqual([data.action, data.tenantId, data.podId, data.generation], ['die', tenantId, podId, 1]);
    assert.equal((await docker.getContainer(legacyId).inspect()).State.Running, false, 'Docker no longer restarts it');
    assert.ok((await gateway.request('startContainer', { containerId: legacyId })).ok, 'AgentPod may start it');
    startedAt = (await docker.getContainer(legacyId).inspect()).State.StartedAt;
  });

  test('the registry survives an agent restart: the next hello reports it as the pod’s', async () => {
    const exited = new Promise((resolve) => agent?.once('exit', resolve));
    agent?.kill('SIGKILL');
    await exited;
    const registry = JSON.parse(await readFile(join(dir, 'state', 'adoptions.json'), 'utf8'));
    assert.equal(registry.containers[0].containerId, legacyId);
    const mark = gateway.frames.length;
    startAgentProcess();
    const hello = await gateway.waitFor(isFrame('hello'), mark, 60_000);
    const listed = hello.containers.find((c) => c.id === legacyId);
    assert.deepEqual([listed?.tenantId, listed?.podId, listed?.generation], [tenantId, podId, 1]);
    assert.equal((await docker.getContainer(legacyId).inspect()).State.StartedAt, startedAt);
  });

  test('the next generation mounts the same data; removing the adopted container keeps its volume', async () => {
    const keptMounts = [
      { type: 'bind', source: dir, destination: '/bind', readOnly: false },
      { type: 'volume', source: volume, destination: '/data', readOnly: false },
    ];
    const next: ContainerSpecInput = {
      tenantId,
      podId,
      generation: 2,
      image: TEST_IMAGES.node,
      ports: [{ hostPort, containerPort: TEST_APP_PORT }],
      limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
      labels: { [RUN_LABEL]: run },
      keptMounts: keptMounts as ContainerSpecInput['keptMounts'],
    };
    const intruder = { ...next, podId: 'intruder', ports: [] };
    assert.equal(await code('createContainer', { spec: intruder }), 'forbidden', 'another pod may not mount them');
    assert.ok((await gateway.request('removeContainer', { containerId: legacyId })).ok);
    const created = await ok<{ containerId: string }>('createContainer', { spec: next });
    assert.ok((await gateway.request('startContainer', { containerId: created.containerId })).ok);
    assert.equal(await (await get(hostPort, '/data/note')).text(), 'kept\n', 'the named volume');
    const exec = await docker.getContainer(created.containerId).exec({
      Cmd: ['cat', '/bind/bind-file'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    let text = '';
    for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
    assert.match(text, /from the host/, 'the bind mount');
    const { Volumes } = await docker.listVolumes({ filters: { name: [volume] } });
    assert.ok((Volumes ?? []).some((v) => v.Name === volume));
    const { containers } = await ok<{ containers: ObservedContainer[] }>('inventory', {});
    assert.ok(!containers.some((c) => c.id === legacyId), 'forgotten once removed');
  });
});
