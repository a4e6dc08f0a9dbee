import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type ContainerSpecInput, HealthCheck, PodLabels } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { ensureTestImages, freePort, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { DockerRuntime } from '../runtime/index.ts';
import { type HealthChanged, HealthProber } from './prober.ts';
import { probeFor } from './probes.ts';

/*
 * Health probes against real containers on the real Docker Engine: the check travels in the container's label,
 * the prober reaches the app through its published host port, and it says only what changed.
 */

const docker = new Docker();
const runtime = new DockerRuntime(docker, { pull: 'never' });
const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'agentpod-test.run';
const tenantId = `hc-${run}`;
const logger = createLogger('agent-test', 'silent');

const changes: HealthChanged[] = [];
const probesOf = new Map<number, number>();
const prober = new HealthProber({
  logger,
  emit: (change) => changes.push(change),
  probe: (target, signal) => {
    probesOf.set(target.hostPort, (probesOf.get(target.hostPort) ?? 0) + 1);
    return probeFor(target, signal);
  },
});

/** Fast timings so a test takes seconds: probe every second, 2 failures in a row after a 1 s grace. */
const fast = { intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2, startGraceSeconds: 1 };

/** Creates and starts a pod container with a health check, and shows it to the prober as the agent would. */
async function startPod(
  podId: string,
  health: Record<string, unknown>,
  extra: Partial<ContainerSpecInput> = {},
): Promise<{ id: string; hostPort: number }> {
  const hostPort = await freePort();
  const containerPort = (health.port as number | undefined) ?? TEST_APP_PORT;
  const spec: ContainerSpecInput = {
    tenantId,
    podId,
    generation: 1,
    image: TEST_IMAGES.node,
    ports: [{ hostPort, containerPort }],
    limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
    health: HealthCheck.parse({ port: containerPort, ...fast, ...health }),
    labels: { [RUN_LABEL]: run },
    ...extra,
  };
  const { id } = await runtime.create(spec);
  await runtime.start(id);
  prober.observe(id, await runtime.inspect(id));
  return { id, hostPort };
}

const verdictsOf = (id: string) => changes.filter((change) => change.containerId === id);

/** Waits until the container's verdicts are `statuses` (polling; the probes run on their own timers). */
async function until(id: string, statuses: string[], timeoutMs = 30_000): Promise<HealthChanged[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = verdictsOf(id);
    if (seen.length >= statuses.length) {
      assert.deepEqual(
        seen.map((change) => change.status),
        statuses,
      );
      return seen;
    }
    if (Date.now() > deadline)
      assert.fail(`waited for ${statuses.join(' → ')}, saw ${seen.map((c) => c.status).join(' → ') || 'nothing'}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('health probes on the real Docker Engine', () => {
  before(async () => {
    await ensureTestImages();
  });
  after(async () => {
    prober.stop();
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  });

  test('http: healthy, then unhealthy once /healthz fails threshold times; only the changes are sent', async () => {
    const { id, hostPort } = await startPod(
      'web',
      { type: 'http', path: '/healthz' },
      {
        env: { HEALTH_FAIL_AFTER_SECONDS: '4' },
      },
    );
    const label = (await runtime.inspect(id))?.labels[PodLabels.health];
    assert.deepEqual(
      JSON.parse(label ?? 'null'),
      HealthCheck.parse({ type: 'http', path: '/healthz', port: 8080, ...fast }),
    );
    const [healthy, unhealthy] = await until(id, ['healthy', 'unhealthy']);
    assert.deepEqual([healthy?.failures, healthy?.lastError], [0, null]);
    assert.deepEqual([unhealthy?.failures, unhealthy?.lastError], [2, 'GET /healthz answered 500']);
    assert.equal(unhealthy?.startedAt, (await runtime.inspect(id))?.startedAt);
    assert.ok((probesOf.get(hostPort) ?? 0) > 2 + 2, 'many probes went out; two observations came of them');
  });

  test('http: a stopped container is not probed; started again, it begins at starting', async () => {
    const { id, hostPort } = await startPod('again', { type: 'http', path: '/healthz' });
    await until(id, ['healthy']);
    await runtime.stop(id, { timeoutSeconds: 5 });
    prober.observe(id, await runtime.inspect(id));
    const probed = probesOf.get(hostPort) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(probesOf.get(hostPort), probed, 'no probe while it does not run');
    await runtime.start(id);
    const restarted = await runtime.inspect(id);
    prober.observe(id, restarted);
    const [, starting, healthy] = await until(id, ['healthy', 'starting', 'healthy']);
    assert.equal(starting?.startedAt, restarted?.startedAt);
    assert.equal(healthy?.startedAt, restarted?.startedAt);
  });

  test('tcp: healthy when the app listens; unhealthy when nothing listens behind the published port', async () => {
    const listening = await startPod('tcp-up', { type: 'tcp' });
    // Docker's proxy accepts on the host port even then; the probe must see through it.
    const silent = await startPod('tcp-down', { type: 'tcp', port: 9000 });
    await until(listening.id, ['healthy']);
    const [down] = await until(silent.id, ['unhealthy']);
    assert.match(down?.lastError ?? '', /closed at once|ECONNREFUSED|ECONNRESET/);
  });

  test('ws: healthy when the heartbeat is echoed; unhealthy when the upgrade is never answered', async () => {
    const echo = await startPod('ws-up', { type: 'ws', path: '/ws' });
    // A server that accepts connections and never says a word.
    const mute = await startPod(
      'ws-mute',
      { type: 'ws', path: '/ws', port: 9000 },
      { cmd: ['node', '-e', 'require("node:net").createServer(() => {}).listen(9000)'] },
    );
    await until(echo.id, ['healthy']);
    const [down] = await until(mute.id, ['unhealthy']);
    assert.match(down?.lastError ?? '', /no answer within 1 s|handshake has timed out/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(verdictsOf(echo.id).length, 1, 'a healthy run probed again and again sends nothing more');
  });
});
