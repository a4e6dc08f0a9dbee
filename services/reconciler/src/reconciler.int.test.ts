import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  agentSubjects,
  HealthCheck,
  type ObservedContainer,
  PodSpec,
  type Principal,
  querySubject,
} from '@agentpod/contracts';
import { ensureTestImages, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import type { Subscription } from '@nats-io/nats-core';
import type { PlanResult } from './query.ts';
import type { EmulatedAgent } from './testing/emulated-agent.testing.ts';
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  eventually,
  nodeIdFor,
  podVolume,
  type Stack,
  startStack,
} from './testing/stack.testing.ts';

/*
 * The reconciler against real Docker: pod events appended to PODS as the pods service would, agents emulated as
 * NATS peers over the agent's own DockerRuntime. Each step waits for Docker to show the result.
 */

const ACCESS_TOKEN = { v: 1, iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };
const spec = (image: string, env: Record<string, string> = {}) =>
  PodSpec.parse({
    image,
    env,
    volume: { mountPath: '/data' },
    limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
  });

describe('reconciler: desired pods become containers on real Docker', () => {
  let stack: Stack;
  let agentA: EmulatedAgent;
  let nodeA: string;
  let nodeB: string;
  let tenantId: string;

  const containersOf = async (podId: string) =>
    (await stack.runtime.list()).filter((c) => c.tenantId === tenantId && c.podId === podId);
  const onlyContainer = async (podId: string, matches: (c: Awaited<ReturnType<typeof containersOf>>[0]) => boolean) => {
    const found = await containersOf(podId);
    return found.length === 1 && found[0] && matches(found[0]) ? found[0] : undefined;
  };
  /** The pod's recorded recoveries (successful starts and restarts that healed it), in order. */
  const recoveries = async (podId: string) =>
    (await stack.outcomes(podId))
      .filter((o) => o.type === 'PodActionSucceeded' && o.data.recovery)
      .map((o) => ({ action: o.data.action, recovery: o.data.recovery }));
  /**
   * For each run of a container after its first, the milliseconds from the previous run's end to its start, by
   * Docker's own times as the node reported them (every observation says its run's start and an end: its own,
   * or the previous run's while it runs).
   */
  const runGaps = async (containerId: string) => {
    const ends = new Map<string, number>();
    const previousEnds = new Map<string, number>();
    for (const { envelope } of await stack.store.read('agent', nodeA)) {
      const data = envelope.data as { container?: ObservedContainer | null; containers?: ObservedContainer[] };
      for (const c of [...(data.containers ?? []), ...(data.container ? [data.container] : [])]) {
        if (c.id !== containerId || !c.startedAt || !c.finishedAt) continue;
        const [started, finished] = [Date.parse(c.startedAt), Date.parse(c.finishedAt)];
        if (finished >= started) ends.set(c.startedAt, finished);
        else previousEnds.set(c.startedAt, finished);
      }
    }
    const starts = [...new Set([...ends.keys(), ...previousEnds.keys()])].sort((a, b) => Date.parse(a) - Date.parse(b));
    const gaps: number[] = [];
    for (const [i, start] of starts.entries()) {
      const previous = starts[i - 1];
      const end = previousEnds.get(start) ?? (previous === undefined ? undefined : ends.get(previous));
      if (i > 0 && end !== undefined) gaps.push(Date.parse(start) - end);
    }
    return gaps;
  };
  const volumeExists = (name: string) =>
    stack.docker
      .getVolume(name)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  const create = (podId: string, nodeId: string, image: string = TEST_IMAGES.node) =>
    stack.podEvent(podId, {
      type: 'PodCreated',
      data: {
        tenantId,
        podId,
        nodeId,
        spec: spec(image),
        secrets: {},
        ports: [],
        volumeName: podVolume(tenantId, podId),
        accessToken: ACCESS_TOKEN,
        generation: 1,
      },
    });

  before(async () => {
    await ensureTestImages();
    stack = await startStack();
    tenantId = stack.tenantId;
    const run = tenantId.slice(2);
    nodeA = nodeIdFor(run, 'a');
    nodeB = nodeIdFor(run, 'b');
    // Node B holds the pods named late-*, node A the rest: both emulated agents share this machine's Docker.
    agentA = await stack.agent(nodeA, (c) => c.tenantId === tenantId && !c.podId.startsWith('late'));
  });
  after(async () => {
    await stack?.stop();
  });

  test('a created pod gets its container, created by the spec the pods service gives, and running', async () => {
    await create('web', nodeA);
    const running = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    assert.equal(running.generation, 1);
    assert.equal(running.volume, podVolume(tenantId, 'web'));
    assert.ok(stack.specCallers.every((actor) => actor.kind === 'system' && actor.id === 'reconciler'));
    const outcomes = await eventually('the create recorded', async () => {
      const recorded = await stack.outcomes('web');
      return recorded.length > 0 && recorded;
    });
    assert.deepEqual(outcomes.at(0), {
      type: 'PodActionSucceeded',
      data: {
        tenantId,
        podId: 'web',
        nodeId: nodeA,
        generation: 1,
        action: 'create',
        containerId: running.id,
        recovery: null,
      },
    });
  });

  test('stopped, it stops; started, it runs again in the same container', async () => {
    const before = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    await stack.podEvent('web', { type: 'PodStopped', data: {} });
    await eventually('web stopped', () => onlyContainer('web', (c) => c.state === 'exited'));
    await stack.podEvent('web', { type: 'PodStarted', data: {} });
    const after = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    assert.equal(after.id, before.id);
  });

  test('a kill -9 of its main process from the host: running again with a new pid, a first recovery', async () => {
    const before = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    assert.ok(before.pid, 'a running container has a host pid');
    const recoveriesBefore = (await recoveries('web')).length;
    process.kill(before.pid, 'SIGKILL');
    const healed = await eventually('web running again', () =>
      onlyContainer('web', (c) => c.state === 'running' && c.pid !== before.pid),
    );
    assert.equal(healed.id, before.id);
    const recorded = await eventually('the recovery recorded', async () => {
      const found = await recoveries('web');
      return found.length > recoveriesBefore && found;
    });
    assert.deepEqual(recorded.at(-1)?.recovery, { reason: 'crash', attempt: 1 });
  });

  test('killed from outside (docker kill), its container is started again as a crash recovery', async () => {
    const before = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    const recoveriesBefore = (await recoveries('web')).length;
    await stack.docker.getContainer(before.id).kill();
    const healed = await eventually('web started again', () =>
      onlyContainer('web', (c) => c.state === 'running' && c.startedAt !== before.startedAt),
    );
    assert.equal(healed.id, before.id);
    const recorded = await eventually('the recovery recorded', async () => {
      const found = await recoveries('web');
      return found.length > recoveriesBefore && found;
    });
    // Soon after the previous crash: the streak goes on (attempt 2, after the base delay).
    assert.deepEqual(recorded.at(-1)?.recovery, { reason: 'crash', attempt: 2 });
  });

  test('a process that exits at once: recoveries with growing gaps, failing after 3, marked once', async () => {
    try {
      await stack.podEvent('loop', {
        type: 'PodCreated',
        data: {
          tenantId,
          podId: 'loop',
          nodeId: nodeA,
          spec: spec(TEST_IMAGES.node, { EXIT_AT_START: '1' }),
          secrets: {},
          ports: [],
          volumeName: podVolume(tenantId, 'loop'),
          accessToken: ACCESS_TOKEN,
          generation: 1,
        },
      });
      const made = await eventually(
        'five recoveries',
        async () => {
          const found = await recoveries('loop');
          return found.length >= 5 && found;
        },
        60_000,
      );
      assert.deepEqual(
        made.slice(0, 5).map((r) => r.recovery),
        [1, 2, 3, 4, 5].map((attempt) => ({ reason: 'crash', attempt })),
      );
      const events = await stack.outcomes('loop');
      const failing = events.filter((e) => e.type === 'PodFailing');
      assert.equal(failing.length, 1, 'marked failing once');
      assert.deepEqual(
        { ...failing[0]?.data, summary: undefined },
        {
          tenantId,
          podId: 'loop',
          nodeId: nodeA,
          generation: 1,
          reason: 'crash-loop',
          failures: 3,
          exitCode: 1,
          lastError: null,
          summary: undefined,
        },
      );
      assert.match(String(failing[0]?.data.summary), /^exited with code 1 4 times in a row; next try (now|in .+)$/);
      // The mark came after the 3rd recovery and before the 4th.
      const order = events.map((e) =>
        e.type === 'PodFailing'
          ? 'failing'
          : String(e.data.recovery && (e.data.recovery as { attempt: number }).attempt),
      );
      assert.ok(
        order.indexOf('failing') > order.indexOf('3') && order.indexOf('failing') < order.indexOf('4'),
        order.join(),
      );
      // Each run began at least its backoff after the previous one ended (Docker's own times of the runs).
      const containerId = String(events.find((e) => e.type === 'PodActionSucceeded')?.data.containerId);
      const gaps = await runGaps(containerId);
      assert.ok(gaps.length >= 4, `runs seen: ${gaps.length}`);
      for (const [i, gap] of gaps.entries()) {
        const attempt = i + 1;
        const backoff = attempt === 1 ? 0 : Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 2));
        // 1 ms: PostgreSQL keeps Docker's nanosecond times to the microsecond (rounding), the test reads them to the ms.
        assert.ok(
          gap >= backoff - 1,
          `recovery ${attempt} started ${gap} ms after the crash, before its ${backoff} ms`,
        );
      }
    } finally {
      await stack.podEvent('loop', { type: 'PodDeleted', data: { keepVolume: false } });
    }
    await eventually('loop removed', async () => (await containersOf('loop')).length === 0);
    const after = await stack.outcomes('loop');
    assert.equal(after.filter((e) => e.type === 'PodFailing').length, 1, 'never marked failing twice');
    assert.ok(
      after.some((e) => e.type === 'PodRecovered'),
      'the failing mark is lifted once the pod is deleted',
    );
  });

  test('a failing health check: the container is restarted for being unhealthy', async () => {
    try {
      await stack.podEvent('sick', {
        type: 'PodCreated',
        data: {
          tenantId,
          podId: 'sick',
          nodeId: nodeA,
          spec: {
            ...spec(TEST_IMAGES.node, { HEALTH_FAIL_AFTER_SECONDS: '3' }),
            ports: [{ containerPort: TEST_APP_PORT, protocol: 'tcp', public: false }],
            health: HealthCheck.parse({
              type: 'http',
              path: '/healthz',
              intervalSeconds: 1,
              failureThreshold: 1,
              startGraceSeconds: 2,
            }),
          },
          secrets: {},
          ports: [],
          volumeName: podVolume(tenantId, 'sick'),
          accessToken: ACCESS_TOKEN,
          generation: 1,
        },
      });
      const first = await eventually('sick running', () => onlyContainer('sick', (c) => c.state === 'running'));
      const [restart] = await eventually('an unhealthy restart recorded', async () => {
        const found = (await recoveries('sick')).filter((r) => r.action === 'restart');
        return found.length > 0 && found;
      });
      assert.deepEqual(restart?.recovery, { reason: 'unhealthy', attempt: 1 });
      const again = await eventually('sick restarted', () =>
        onlyContainer('sick', (c) => c.state === 'running' && c.startedAt !== first.startedAt),
      );
      assert.equal(again.id, first.id);
      const verdicts = (await stack.store.read('agent', nodeA))
        .map(({ envelope }) => envelope)
        .filter((e) => e.type === 'HealthChanged' && (e.data as { podId: string }).podId === 'sick')
        .map((e) => (e.data as { status: string }).status);
      assert.ok(verdicts.includes('unhealthy'), verdicts.join());
    } finally {
      await stack.podEvent('sick', { type: 'PodDeleted', data: { keepVolume: false } });
    }
    await eventually('sick removed', async () => (await containersOf('sick')).length === 0);
  });

  test('a new generation replaces the container: the old one is removed, the new one runs', async () => {
    const old = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    await stack.podEvent('web', {
      type: 'PodUpdated',
      data: { spec: spec(TEST_IMAGES.node, { GREETING: 'v2' }), secrets: {}, ports: [], generation: 2 },
    });
    const next = await eventually('generation 2 running', () =>
      onlyContainer('web', (c) => c.generation === 2 && c.state === 'running'),
    );
    assert.notEqual(next.id, old.id);
    assert.equal(await stack.runtime.inspect(old.id), null);
  });

  test('a restart request restarts the container, once', async () => {
    const before = await eventually('web running', () => onlyContainer('web', (c) => c.state === 'running'));
    await stack.podEvent('web', { type: 'PodRestartRequested', data: { restartId: 'r-1' } });
    const restarted = await eventually('web restarted', () =>
      onlyContainer('web', (c) => c.state === 'running' && c.startedAt !== before.startedAt),
    );
    assert.equal(restarted.id, before.id);
    const restarts = await eventually('the restart recorded', async () => {
      const found = (await stack.outcomes('web')).filter((o) => o.data.action === 'restart');
      return found.length > 0 && found;
    });
    assert.equal(restarts.length, 1);
  });

  test('deleted, its container and its volume are gone', async () => {
    await stack.podEvent('web', { type: 'PodDeleted', data: { keepVolume: false } });
    await eventually('web removed', async () => (await containersOf('web')).length === 0);
    await eventually('its volume removed', async () => !(await volumeExists(podVolume(tenantId, 'web'))));
  });

  test('a labelled container of a pod that does not exist is removed', async () => {
    const ghost = await stack.runtime.create({
      tenantId,
      podId: 'ghost',
      generation: 1,
      image: TEST_IMAGES.node,
      limits: { memoryBytes: 64 << 20, cpus: 0.5, pids: 64 },
    });
    await stack.runtime.start(ghost.id);
    await agentA.reportInventory();
    await eventually('the orphan removed', async () => (await stack.runtime.inspect(ghost.id)) === null);
    const outcomes = await stack.outcomes('ghost');
    assert.ok(outcomes.some((o) => o.type === 'PodActionSucceeded' && o.data.action === 'removeOrphan'));
  });

  test('an image that does not exist: the create fails with Docker’s own message, and nothing hangs', async () => {
    await create('broken', nodeA, 'agentpod-test/does-not-exist:1');
    const failure = await eventually('the failure recorded', async () =>
      (await stack.outcomes('broken')).find((o) => o.type === 'PodActionFailed'),
    );
    assert.equal(failure.data.action, 'create');
    const error = failure.data.error as { code: string; message: string };
    assert.equal(error.code, 'not_found');
    assert.match(error.message, /No such image: agentpod-test\/does-not-exist:1/);
    assert.deepEqual(await containersOf('broken'), []);
  });

  test('a node without heartbeats gets no actions; once it heartbeats, its pod is created', async () => {
    // Whatever is asked of node B while it is silent lands here (and is never answered).
    const asked: string[] = [];
    const silentB: Subscription = stack.nc.subscribe(agentSubjects.commands(nodeB), {
      callback: (_error, msg) => {
        asked.push(msg.subject);
      },
    });
    try {
      await create('late-one', nodeB);
      // A pod appended after it, on node A: once it runs, a pass has seen late-one and left it alone.
      await create('probe', nodeA);
      await eventually('probe running', () => onlyContainer('probe', (c) => c.state === 'running'));
      const plan = await stack.call<PlanResult>(querySubject('reconciler', 'plan'), { tenantId });
      assert.deepEqual(plan.onlineNodes, [nodeA]);
      assert.ok(!plan.actions.some((a) => a.podId === 'late-one'));
    } finally {
      silentB.unsubscribe();
    }
    assert.deepEqual(asked, []);
    assert.deepEqual(await stack.outcomes('late-one'), []);
    await stack.agent(nodeB, (c) => c.tenantId === tenantId && c.podId.startsWith('late'));
    await eventually('late-one running', () => onlyContainer('late-one', (c) => c.state === 'running'));
  });

  test('the plan query is for platform admins and the system only', async () => {
    const user: Principal = {
      userId: 'usr_someone0000000000000',
      email: 'a@b.c',
      platformAdmin: false,
      via: 'session',
    };
    await assert.rejects(
      stack.call(querySubject('reconciler', 'plan'), {}, { actor: { kind: 'user', id: user.userId }, principal: user }),
      { code: 'forbidden' },
    );
    const admin: Principal = { ...user, platformAdmin: true };
    const plan = await stack.call<PlanResult>(
      querySubject('reconciler', 'plan'),
      { tenantId },
      { actor: { kind: 'user', id: admin.userId }, principal: admin },
    );
    assert.deepEqual(plan.onlineNodes.sort(), [nodeA, nodeB].sort());
  });

  test('deleting every pod leaves nothing behind, even the volume of a create that failed', async () => {
    assert.ok(await volumeExists(podVolume(tenantId, 'broken')), 'the failed create made the volume first');
    for (const podId of ['broken', 'probe', 'late-one'])
      await stack.podEvent(podId, { type: 'PodDeleted', data: { keepVolume: false } });
    await eventually('no container left', async () =>
      (await stack.runtime.list()).every((c) => c.tenantId !== tenantId),
    );
    for (const podId of ['broken', 'probe', 'late-one'])
      await eventually(`${podId}'s volume removed`, async () => !(await volumeExists(podVolume(tenantId, podId))));
    await eventually('nothing left to plan', async () => {
      const plan = await stack.call<PlanResult>(querySubject('reconciler', 'plan'), { tenantId });
      return plan.actions.length === 0;
    });
  });

  test('the read models rebuilt from the log are identical to the live ones', async () => {
    const report = await stack.service.runtime.replay({ compare: true });
    assert.ok(report.events > 0);
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
  });
});
