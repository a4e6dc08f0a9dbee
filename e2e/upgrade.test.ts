import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddNodeResult, PodView, RolloutView } from '@agentpod/contracts';
import { identityService } from '@agentpod/identity';
import { ensureTestImages, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import { type AgentHost, joinAndRun, type RunningAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import { docker, inspect, removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { EXIT, exited, failed } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, type Stack, startStack, tempDir } from './support/stack.ts';

/*
 * Rolling upgrades through the whole stack on real Docker: the identity, tenants, pods and reconciler services, the
 * gateway on a real port, the real agent, and `agentpod pod upgrade` as a user runs it. Two images are made here
 * from the test image and removed at the end: a plain tag of it (an upgrade that works) and a commit of it whose
 * health check fails from the start (HEALTH_FAIL_AFTER_SECONDS is a fraction of a second).
 *
 * Probes run every second with no start grace, so an upgrade is judged in seconds. The agent sees Docker through a
 * scope that hides other tenants' containers (support/docker-scope.ts).
 */

const run = randomBytes(3).toString('hex');
const FIVE = `five-${run}`;
const TWO = `two-${run}`;
const TENANTS = [FIVE, TWO];
const NODE = `upgrade-node-${run}`;
const ADMIN = 'admin@example.test';
const MiB = 1024 * 1024;
const PORT_LOW = 36_000 + Math.floor(Math.random() * 2_000);
const GOOD = `agentpod-test/node:good-${run}`;
const BAD = `agentpod-test/node:unhealthy-${run}`;
const PODS = ['pod-1', 'pod-2', 'pod-3', 'pod-4', 'pod-5'];

/** A container as Docker reports it, for "untouched" comparisons. */
type Seen = { id: string; startedAt: string; image: string };

describe('rolling upgrades on real Docker, through the whole stack', () => {
  const cleanup = new Cleanup();
  let stack: Stack;
  let url = '';
  let token = '';
  let admin: Person;
  let host: AgentHost;
  let agent: RunningAgent | undefined;
  let failures = 0;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await http(url, method, path, { token, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const getPod = (tenant: string, pod: string) => api<PodView>('GET', `/api/v1/tenants/${tenant}/pods/${pod}`);
  const healthyPod = (tenant: string, pod: string, image: string) =>
    eventually(
      async () => {
        const view = await getPod(tenant, pod);
        const what = `${tenant}/${pod}: waiting for healthy on ${image}; now ${JSON.stringify(view)}`;
        assert.ok(view.status === 'running' && view.health === 'healthy' && view.image === image, what);
        return view;
      },
      40_000,
      250,
    );
  const seen = async (view: PodView): Promise<Seen> => {
    const info = await inspect(view.containerId ?? '');
    return { id: info.Id, startedAt: info.State.StartedAt, image: info.Config.Image };
  };
  const step = (name: string, body: () => Promise<void>) =>
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        failures++;
        throw error;
      }
    });

  before(async () => {
    await ensureTestImages();
    stack = await startStack({
      services: [identityService, tenantsService, podsService, reconcilerService],
      listen: true,
      env: {
        AGENTPOD_RECONCILE_INTERVAL_MS: '1000',
        AGENTPOD_PORT_RANGE: `${PORT_LOW}-${PORT_LOW + 99}`,
      },
    });
    cleanup.add(() => stack.stop());
    url = stack.url ?? '';
    // The images this test made go after the containers that use them.
    cleanup.add(async () => {
      for (const image of [GOOD, BAD]) await docker.getImage(image).remove({ force: true });
    });
    cleanup.add(() => removeTenantResources(TENANTS));
    await docker.getImage(TEST_IMAGES.node).tag({ repo: 'agentpod-test/node', tag: `good-${run}` });
    const base = await docker.createContainer({ Image: TEST_IMAGES.node, name: `agentpod-upgrade-base-${run}` });
    try {
      const [repo, tag] = BAD.split(':');
      await base.commit({ repo, tag, changes: 'ENV HEALTH_FAIL_AFTER_SECONDS=0.001' });
    } finally {
      await base.remove({ force: true });
    }

    const dir = await tempDir(cleanup, 'upgrade-e2e');
    const scope = await startDockerScope(dir, TENANTS);
    cleanup.add(() => scope.stop());
    host = { stateDir: join(dir, 'agent-state'), home: join(dir, 'agent-home'), dockerSocket: scope.socketPath };
    cleanup.add(async () => {
      const code = await agent?.stop();
      if (failures > 0 && agent) process.stderr.write(`agent output (exit ${code}):\n${agent.output()}\n`);
    });

    const bootstrapper = await person(join(dir, 'admin'), { AGENTPOD_STATE_DIR: stack.stateDir });
    const bootstrap = await bootstrapper.run(['admin', 'bootstrap', '--email', ADMIN, '--json'], {
      env: { AGENTPOD_URL: url },
    });
    exited(bootstrap, EXIT.ok);
    token = bootstrap.json<{ token: string }>().token;
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: token });
    for (const tenant of TENANTS) exited(await admin.run(['tenant', 'create', tenant, '--name', tenant]), EXIT.ok);

    const added = await admin.run(['node', 'add', NODE, '--json']);
    exited(added, EXIT.ok);
    const [, , joinUrl, joinToken] = added.json<AddNodeResult>().installCommand.split(' ');
    agent = await joinAndRun(host, joinUrl ?? '', joinToken ?? '');

    // Pods with a quick health check: probed every second, no start grace, unhealthy after two failures.
    const health = { type: 'http', path: '/healthz', intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 };
    const spec = {
      image: TEST_IMAGES.node,
      ports: [{ containerPort: TEST_APP_PORT }],
      limits: { memoryBytes: 64 * MiB },
      health: { ...health, startGraceSeconds: 0 },
    };
    for (const [tenant, pods] of [
      [FIVE, PODS],
      [TWO, ['two-1', 'two-2']],
    ] as const) {
      for (const podId of pods) await api('POST', `/api/v1/tenants/${tenant}/pods`, { podId, spec });
    }
    for (const podId of PODS) await healthyPod(FIVE, podId, TEST_IMAGES.node);
    for (const podId of ['two-1', 'two-2']) await healthyPod(TWO, podId, TEST_IMAGES.node);
  });
  after(() => cleanup.run());

  step('a rollout of two pods: one at a time, each healthy on the new image; exit 0', async () => {
    const upgraded = await admin.run(['pod', 'upgrade', '--all', '--tenant', TWO, '--image', GOOD, '--json']);
    exited(upgraded, EXIT.ok);
    const rollout = upgraded.json<RolloutView>();
    assert.equal(rollout.status, 'succeeded');
    assert.deepEqual(
      rollout.pods.map((pod) => [pod.podId, pod.phase, pod.generation]),
      [
        ['two-1', 'healthy', 2],
        ['two-2', 'healthy', 2],
      ],
    );
    // One at a time: the second began after the first was healthy.
    const [first, second] = rollout.pods;
    assert.ok((second?.startedAt ?? '') >= (first?.endedAt ?? 'z'), JSON.stringify(rollout.pods));
    assert.match(upgraded.stderr, new RegExp(`${TWO}/two-1: healthy on ${GOOD}`));
    for (const podId of ['two-1', 'two-2']) {
      const view = await getPod(TWO, podId);
      assert.deepEqual([view.image, view.generation, view.health], [GOOD, 2, 'healthy']);
      assert.equal((await seen(view)).image, GOOD);
    }
    const status = await admin.run(['rollout', 'status', rollout.id]);
    exited(status, EXIT.ok);
    assert.match(status.stdout, /status +succeeded/);
  });

  step(
    'an upgrade of five pods to an image whose health check fails stops at the first and rolls it back',
    async () => {
      const before = new Map<string, Seen>();
      for (const podId of PODS) before.set(podId, await seen(await getPod(FIVE, podId)));

      const upgraded = await admin.run(['pod', 'upgrade', '--all', '--tenant', FIVE, '--image', BAD]);
      exited(upgraded, EXIT.failure);
      assert.match(upgraded.stdout, new RegExp(`rollout rol_\\w+ failed: ${FIVE}/pod-1: `));
      assert.match(upgraded.stdout, /0 upgraded, 1 failed, 4 left untouched/);
      assert.match(upgraded.stderr, new RegExp(`${FIVE}/pod-1: upgrading to ${BAD}`));
      assert.match(upgraded.stderr, new RegExp(`${FIVE}/pod-1: rolled back to ${TEST_IMAGES.node}`));

      // The first pod runs its old image again, healthy, in a newer generation.
      const p1 = await healthyPod(FIVE, 'pod-1', TEST_IMAGES.node);
      assert.equal(p1.generation, 3);
      assert.equal((await seen(p1)).image, TEST_IMAGES.node);
      // The other four were never touched: same containers, same start times, same generation.
      for (const podId of PODS.slice(1)) {
        const view = await getPod(FIVE, podId);
        assert.deepEqual([view.generation, view.image], [1, TEST_IMAGES.node]);
        assert.deepEqual(await seen(view), before.get(podId), `${FIVE}/${podId} was restarted`);
      }
      const { rollouts } = await api<{ rollouts: RolloutView[] }>('GET', `/api/v1/rollouts?tenant=${FIVE}`);
      assert.deepEqual(
        rollouts[0]?.pods.map((pod) => pod.phase),
        ['rolledBack', 'pending', 'pending', 'pending', 'pending'],
      );
    },
  );

  step('bad input: an image that is no image, nothing to upgrade, another tenant’s pod', async () => {
    const image = await admin.run(['pod', 'upgrade', `${FIVE}/pod-2`, '--image', 'Not An Image!', '--json']);
    assert.match(failed(image, EXIT.usage, 'invalid').message, /--image/);
    const none = await admin.run(['pod', 'upgrade', '--all', '--tenant', TWO, '--image', GOOD, '--json']);
    assert.match(failed(none, EXIT.usage, 'invalid').message, /nothing to upgrade/);
    const neither = await admin.run(['pod', 'upgrade', '--image', GOOD]);
    exited(neither, EXIT.usage);

    // A token confined to one tenant sees no other: the other tenant's pods do not exist for it.
    const scoped = await admin.run([
      'token',
      'create',
      '--name',
      'two-only',
      '--tenant',
      TWO,
      '--role',
      'admin',
      '--json',
    ]);
    exited(scoped, EXIT.ok);
    const outsider = await person(join(admin.home, 'outsider'), {
      AGENTPOD_URL: url,
      AGENTPOD_TOKEN: scoped.json<{ token: string }>().token,
    });
    const foreign = await outsider.run(['pod', 'upgrade', `${FIVE}/pod-2`, '--image', GOOD, '--json']);
    failed(foreign, EXIT.denied, 'not_found');
    const answer = await http(url, 'POST', `/api/v1/tenants/${FIVE}/rollouts`, {
      token: scoped.json<{ token: string }>().token,
      body: { pods: ['pod-2'], image: GOOD },
    });
    assert.equal(answer.status, 404);
    assert.equal((await getPod(FIVE, 'pod-2')).generation, 1);
  });
});
