import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { AppError, type ContainerSpecInput, containerName, volumeName } from '@agentpod/contracts';
import { ensureTestImages, freePort, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { CAPABILITIES } from './create-options.ts';
import { DockerRuntime } from './docker-runtime.ts';
import type { LogLine, RuntimeEvent } from './types.ts';

/* The runtime against the real Docker Engine, with images built locally (no registry). */

const docker = new Docker();
const runtime = new DockerRuntime(docker, { pull: 'never' });
const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'agentpod-test.run';
const tenants = [`rt-${run}-a`, `rt-${run}-b`];

type TestSpec = ContainerSpecInput & {
  ports: NonNullable<ContainerSpecInput['ports']>;
  volume: NonNullable<ContainerSpecInput['volume']>;
};

async function podSpec(tenantId: string, podId: string, extra: Partial<ContainerSpecInput> = {}): Promise<TestSpec> {
  return {
    tenantId,
    podId,
    generation: 1,
    image: TEST_IMAGES.node,
    env: { GREETING: 'hello', SECRET_TOKEN: 's3cret' },
    ports: [{ hostPort: await freePort(), containerPort: TEST_APP_PORT }],
    volume: { name: volumeName(tenantId, podId), mountPath: '/data' },
    limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
    labels: { [RUN_LABEL]: run },
    ...extra,
  } as TestSpec;
}

/** Polls until the app answers: it takes the node process a moment to listen after the container starts. */
async function get(port: number, path: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(2_000) });
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function firstMatch<T>(iterator: AsyncIterator<T>, matches: (item: T) => boolean): Promise<T> {
  for (;;) {
    const next = await iterator.next();
    if (next.done) throw new Error('the stream ended first');
    if (matches(next.value)) return next.value;
  }
}

describe('DockerRuntime on the real Docker Engine', () => {
  before(async () => {
    await ensureTestImages();
  });
  after(async () => {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
    for (const tenant of tenants) {
      const { Volumes } = await docker.listVolumes({ filters: { label: [`agentpod.tenant=${tenant}`] } });
      await Promise.all((Volumes ?? []).map((volume) => docker.getVolume(volume.Name).remove()));
    }
  });

  test('create → start → reachable → logs → inventory → stop → remove with its volume', async () => {
    const spec = await podSpec(tenants[0] ?? '', 'life');
    const created = await runtime.create(spec);
    assert.equal(created.created, true);
    assert.equal(created.name, containerName(spec.tenantId, spec.podId, 1));
    await runtime.start(created.id);
    await runtime.start(created.id); // idempotent
    assert.equal((await runtime.inspect(created.id))?.state, 'running');

    const port = spec.ports[0]?.hostPort ?? 0;
    assert.equal((await get(port, '/healthz')).status, 200);
    assert.equal(await (await get(port, '/env/GREETING')).text(), 'hello');
    assert.equal((await get(port, '/data/note', { method: 'PUT', body: 'kept' })).status, 201);

    const lines = await collect(runtime.logs(created.id, { tail: 50 }));
    assert.ok(
      lines.some((l) => l.stream === 'stdout' && l.text === `listening on ${TEST_APP_PORT}`),
      'stdout',
    );
    assert.ok(
      lines.some((l) => l.stream === 'stderr' && l.text === 'test app starting'),
      'stderr',
    );
    assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT/.test(l.time)));

    const [listed] = (await runtime.list()).filter((c) => c.id === created.id);
    assert.equal(listed?.tenantId, spec.tenantId);
    assert.equal(listed?.podId, 'life');
    assert.equal(listed?.generation, 1);
    assert.equal(listed?.labels['agentpod.pod'], `${spec.tenantId}/life`);
    assert.equal(listed?.volume, spec.volume.name);
    assert.deepEqual(listed?.ports, [
      { containerPort: TEST_APP_PORT, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port },
    ]);
    assert.ok(listed?.pid && listed.startedAt && listed.exitCode === null);

    await runtime.stop(created.id, { timeoutSeconds: 5 });
    await runtime.stop(created.id); // idempotent
    const stopped = await runtime.inspect(created.id);
    assert.equal(stopped?.state, 'exited');
    assert.equal(stopped?.exitCode, 0, 'the app exits 0 on SIGTERM');

    await runtime.remove(created.id, { volume: true });
    await runtime.remove(created.id, { volume: true }); // idempotent
    assert.equal(await runtime.inspect(created.id), null);
    await assert.rejects(
      docker.getVolume(spec.volume.name).inspect(),
      (e: { statusCode?: number }) => e.statusCode === 404,
    );
  });

  test('docker inspect shows the hardening; ports bind to 127.0.0.1 unless public', async () => {
    const [privatePort, publicPort] = [await freePort(), await freePort()];
    const spec = await podSpec(tenants[0] ?? '', 'hard', {
      ports: [
        { hostPort: privatePort, containerPort: TEST_APP_PORT },
        { hostPort: publicPort, containerPort: 9090, hostIp: '0.0.0.0' },
      ],
    });
    const { id } = await runtime.create(spec);
    const { HostConfig: host } = await docker.getContainer(id).inspect();
    assert.deepEqual(host.SecurityOpt, ['no-new-privileges:true']);
    assert.deepEqual(host.CapDrop, ['ALL']);
    assert.deepEqual(host.CapAdd, CAPABILITIES);
    assert.equal(host.PidsLimit, 64);
    assert.equal(host.Memory, 128 << 20);
    assert.equal(host.MemorySwap, 128 << 20);
    assert.equal(host.NanoCpus, 500_000_000);
    assert.equal(host.Privileged, false);
    assert.equal(host.NetworkMode, 'bridge');
    assert.equal(host.RestartPolicy?.Name, 'no');
    assert.deepEqual(host.LogConfig, { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } });
    assert.deepEqual(host.Binds ?? [], []);
    assert.deepEqual(host.PortBindings, {
      [`${TEST_APP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(privatePort) }],
      '9090/tcp': [{ HostIp: '0.0.0.0', HostPort: String(publicPort) }],
    });
  });

  test('inside the container: no new privileges and only the kept capabilities', async () => {
    const spec = await podSpec(tenants[0] ?? '', 'caps', {
      image: TEST_IMAGES.busybox,
      cmd: ['grep', '-E', '^(NoNewPrivs|CapEff):', '/proc/self/status'],
      ports: [],
      volume: undefined,
    });
    const { id } = await runtime.create(spec);
    await runtime.start(id);
    await docker.getContainer(id).wait();
    const text = (await collect(runtime.logs(id))).map((line) => line.text).join('\n');
    assert.match(text, /NoNewPrivs:\s+1/);
    // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, KILL 5, SETGID 6, SETUID 7, NET_BIND_SERVICE 10 → 0x4eb; no NET_RAW (13).
    assert.match(text, /CapEff:\s+00000000000004eb/);
  });

  test('a private port is reachable on 127.0.0.1 only, a public one on the node’s other addresses too', async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
    if (!external) return t.skip('this machine has no non-loopback IPv4 address');
    const reaches = async (host: string, port: number) => {
      const socket = connect({ host, port, timeout: 2_000 });
      const connected = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
        socket.once('timeout', () => resolve(false));
      });
      socket.destroy();
      return connected;
    };
    const hidden = await podSpec(tenants[0] ?? '', 'private');
    const shown = await podSpec(tenants[0] ?? '', 'public');
    shown.ports = [{ hostPort: await freePort(), containerPort: TEST_APP_PORT, hostIp: '0.0.0.0' }];
    for (const spec of [hidden, shown]) await runtime.start((await runtime.create(spec)).id);
    const [hiddenPort, shownPort] = [hidden.ports[0]?.hostPort ?? 0, shown.ports[0]?.hostPort ?? 0];
    assert.equal((await get(hiddenPort, '/healthz')).status, 200);
    assert.equal((await get(shownPort, '/healthz')).status, 200);
    assert.equal(await reaches(external, shownPort), true, 'the public port answers on the external address');
    assert.equal(await reaches(external, hiddenPort), false, 'the private port does not');
  });

  test('creating the same key twice, even at once, yields one container', async () => {
    const spec = await podSpec(tenants[0] ?? '', 'twice');
    const results = await Promise.all([runtime.create(spec), runtime.create(spec)]);
    const again = await runtime.create(spec);
    assert.deepEqual(new Set([...results, again].map((r) => r.id)).size, 1);
    assert.deepEqual(results.map((r) => r.created).sort(), [false, true]);
    assert.equal(again.created, false);
    const named = await docker.listContainers({ all: true, filters: { name: [`^/${again.name}$`] } });
    assert.equal(named.length, 1);
  });

  test('an image that does not exist fails with Docker’s error, not a hang', { timeout: 30_000 }, async () => {
    const spec = await podSpec(tenants[0] ?? '', 'noimage', { image: 'agentpod-test/does-not-exist:1' });
    await assert.rejects(
      runtime.create(spec),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === 'not_found' &&
        /No such image: agentpod-test\/does-not-exist:1/.test(error.message),
    );
    await assert.rejects(runtime.ensureImage(spec.image), (error: unknown) => (error as AppError).code === 'not_found');
    assert.equal(await runtime.hasImage(TEST_IMAGES.node), true);
    await assert.rejects(runtime.hasImage('nginx; id'), (error: unknown) => (error as AppError).code === 'invalid');
  });

  test('kill -9 of the main process from the host shows up as a die event with its exit code', {
    timeout: 60_000,
  }, async () => {
    const spec = await podSpec(tenants[0] ?? '', 'crash');
    const since = new Date(Date.now() - 1_000);
    const { id } = await runtime.create(spec);
    await runtime.start(id);
    const pid = (await runtime.inspect(id))?.pid;
    assert.ok(pid, 'a running container has a host pid');
    const abort = new AbortController();
    const events = runtime.events({ since, signal: abort.signal })[Symbol.asyncIterator]();
    try {
      const mine = (event: RuntimeEvent) => event.id === id;
      const started = await firstMatch(events, (e) => mine(e) && e.action === 'start');
      assert.equal(started.podId, 'crash');
      process.kill(pid, 'SIGKILL');
      const died = await firstMatch(events, (e) => mine(e) && e.action === 'die');
      assert.equal(died.exitCode, 137);
      assert.equal(died.tenantId, spec.tenantId);
      assert.equal(died.generation, 1);
    } finally {
      abort.abort();
    }
    assert.equal((await events.next()).done, true, 'aborting ends the stream');
    const observed = await runtime.inspect(id);
    assert.equal(observed?.state, 'exited');
    assert.equal(observed?.exitCode, 137);
  });

  test('follow streams new lines until aborted', { timeout: 30_000 }, async () => {
    const spec = await podSpec(tenants[0] ?? '', 'follow');
    const { id } = await runtime.create(spec);
    await runtime.start(id);
    const port = spec.ports[0]?.hostPort ?? 0;
    await get(port, '/healthz');
    const abort = new AbortController();
    const lines = runtime.logs(id, { follow: true, tail: 0, signal: abort.signal })[Symbol.asyncIterator]();
    const pending = firstMatch(lines, (line: LogLine) => line.text === 'GET /marker');
    await get(port, '/marker');
    assert.equal((await pending).stream, 'stdout');
    abort.abort();
    assert.equal((await lines.next()).done, true);
  });

  test('two tenants’ pods each see only their own volume', async () => {
    const [a, b] = [await podSpec(tenants[0] ?? '', 'vol'), await podSpec(tenants[1] ?? '', 'vol')];
    for (const spec of [a, b]) await runtime.start((await runtime.create(spec)).id);
    const [portA, portB] = [a.ports[0]?.hostPort ?? 0, b.ports[0]?.hostPort ?? 0];
    assert.equal((await get(portA, '/data/secret', { method: 'PUT', body: 'tenant a only' })).status, 201);
    assert.deepEqual(await (await get(portA, '/data')).json(), ['secret']);
    assert.deepEqual(await (await get(portB, '/data')).json(), []);
    assert.equal((await get(portB, '/data/secret')).status, 404);

    const mounts = await Promise.all(
      [a, b].map(async (spec) => {
        const info = await docker.getContainer(containerName(spec.tenantId, spec.podId, 1)).inspect();
        return info.Mounts.map((m) => `${m.Type}:${m.Name}:${m.Destination}`);
      }),
    );
    assert.deepEqual(mounts, [[`volume:${a.volume.name}:/data`], [`volume:${b.volume.name}:/data`]]);
    // Tenant b asking for tenant a's volume is refused before Docker is asked.
    const stolen = { ...b, podId: 'thief', volume: a.volume };
    await assert.rejects(runtime.create(stolen), (error: unknown) => (error as AppError).code === 'invalid');
    assert.equal(await runtime.inspect(containerName(b.tenantId, 'thief', 1)), null);
  });

  test('an agent scoped to its node lists, watches and acts only on its own containers', async () => {
    const nodeA = new DockerRuntime(docker, { pull: 'never', nodeId: () => `nod_${run}a` });
    const nodeB = new DockerRuntime(docker, { pull: 'never', nodeId: () => `nod_${run}b` });
    const [tenant] = tenants as [string];
    const created = await nodeA.create(await podSpec(tenant, 'scoped-a'));
    const mine = await nodeA.inspect(created.id);
    assert.ok(mine);
    assert.equal(mine.labels['agentpod.node'], `nod_${run}a`);
    assert.ok(
      (await nodeA.list()).some((c) => c.id === created.id),
      'node A lists its own container',
    );
    assert.ok(!(await nodeB.list()).some((c) => c.id === created.id), 'node B does not list it');
    assert.equal(nodeA.owns(mine), true);
    assert.equal(nodeB.owns(mine), false, 'node B may not act on it');
    await nodeA.remove(created.id, { volume: true });
  });
});
