import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  type AddNodeResult,
  type AddWebhookResult,
  type AlertView,
  type EventEnvelope,
  type NodeView,
  type PodView,
  podAggregateId,
  type WebhookPayload,
} from '@agentpod/contracts';
import { ensureTestImages, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import type { z } from 'zod';
import { type AgentHost, agentCommand, type RunningAgent, runAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import { bootstrapAdmin, type ControlPlane, startControlPlane, stopAgentAndReport } from './support/control-plane.ts';
import { containersOf, docker, inspect, removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { EXIT, exited } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, tempDir } from './support/stack.ts';
import { signatureHeader, startWebhookSink, type WebhookCall, type WebhookSink } from './support/webhook-sink.ts';

/*
 * Self-healing through the whole stack, each part a process of its own: the identity, tenants, pods and monitor
 * services, two reconciler replicas and the gateway (support/control-plane.ts), the real agent, real Docker. One
 * story in order: crashes of a pod's process and outside kills are healed; a killed reconciler replica leaves its
 * pods to the other; a control-plane outage, ten agent crashes and a frozen agent change nothing that runs; a
 * process that exits at once ends `failing`, with an alert and a signed webhook call.
 *
 * Crash recovery is made fast (backoff base 200 ms, a pod counts as healthy again after 3 s) so the story takes
 * about two minutes; the real timings are the `self-heal` benchmark's. Times are reported as diagnostics, never
 * asserted. The agent sees Docker through a scope that hides other tenants' containers (support/docker-scope.ts).
 */

const run = randomBytes(3).toString('hex');
const TENANT = `heal-${run}`;
const NODE = `heal-node-${run}`;
const WEB = ['web-1', 'web-2', 'web-3', 'web-4'] as const;
const CRASHY = 'crashy';
const ADMIN = 'admin@example.test';
const MiB = 1024 * 1024;
const PORT_LOW = 33_000 + Math.floor(Math.random() * 2_000);
const INTERVAL_MS = 1_000;
const INSTANCES = ['identity', 'tenants', 'pods', 'monitor', 'reconciler', 'reconciler-2', 'gateway'];

/** What Docker says about one running container, for "nothing changed" comparisons. */
type Seen = { id: string; pid: number; startedAt: string; restartCount: number; running: boolean };

describe('self-healing: crashes, outages and a crash loop, through a stack of separate processes', () => {
  const cleanup = new Cleanup();
  let cp: ControlPlane;
  let url = '';
  let token = '';
  let nodeId = '';
  let host: AgentHost;
  let agent: RunningAgent | undefined;
  let admin: Person;
  let failures = 0;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await http(url, method, path, { token, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const getPod = (pod: string) => api<PodView>('GET', `/api/v1/tenants/${TENANT}/pods/${pod}`);
  const getNode = () => api<NodeView>('GET', `/api/v1/nodes/${nodeId}`);
  const podUntil = (pod: string, check: (view: PodView) => boolean, what: string, timeoutMs = 30_000) =>
    eventually(
      async () => {
        const view = await getPod(pod);
        assert.ok(check(view), `${pod}: waiting for ${what}; now ${JSON.stringify(view)}`);
        return view;
      },
      timeoutMs,
      200,
    );
  const nodeUntil = (status: string, timeoutMs = 30_000) =>
    eventually(
      async () => {
        const node = await getNode();
        assert.equal(node.status, status);
        return node;
      },
      timeoutMs,
      100,
    );

  const seen = (info: Awaited<ReturnType<typeof inspect>>): Seen => ({
    id: info.Id,
    pid: info.State.Pid,
    startedAt: info.State.StartedAt,
    restartCount: info.RestartCount,
    running: info.State.Running,
  });
  /** The one container of a pod. */
  const containerOf = async (pod: string): Promise<Seen> => {
    const containers = await containersOf(TENANT, pod);
    assert.equal(containers.length, 1, `${pod}: ${containers.map((c) => `${c.Names} ${c.State}`).join(', ')}`);
    return seen(await inspect(containers[0]?.Id ?? ''));
  };
  /** Every container of the web pods, and the pods' restart counts as AgentPod shows them. */
  const snapshot = async () => {
    const containers = new Map<string, Seen>();
    const restarts = new Map<string, number>();
    for (const pod of WEB) {
      containers.set(pod, await containerOf(pod));
      restarts.set(pod, (await getPod(pod)).restarts);
    }
    const all = (await containersOf(TENANT)).map((c) => c.Id).sort();
    return { containers, restarts, all };
  };
  const assertUnchanged = async (before: Awaited<ReturnType<typeof snapshot>>, what: string) => {
    const now = await snapshot();
    assert.deepEqual(now.all, before.all, `${what}: the same containers, none added or removed`);
    assert.deepEqual(now.containers, before.containers, `${what}: not one restarted (same pid, StartedAt, count)`);
    assert.deepEqual(now.restarts, before.restarts, `${what}: AgentPod counted no restart`);
  };
  /** `kill -9` of the container's main process, from the host. */
  const crash = async (pod: string): Promise<Seen> => {
    const before = await containerOf(pod);
    assert.ok(before.running && before.pid > 0, `${pod} runs before its crash`);
    process.kill(before.pid, 'SIGKILL');
    return before;
  };
  /** Waits until the pod's container runs a new process; the time it took from `since`. */
  const healed = async (pod: string, before: Seen, since: number) => {
    const after = await eventually(
      async () => {
        const now = await containerOf(pod);
        assert.ok(now.running && now.pid !== before.pid && now.startedAt > before.startedAt, JSON.stringify(now));
        return now;
      },
      30_000,
      50,
    );
    return { after, ms: Math.round(performance.now() - since) };
  };
  const waitAllRunning = () => Promise.all(WEB.map((pod) => podUntil(pod, (v) => v.status === 'running', 'running')));
  const startAgent = () => {
    agent = runAgent(host);
    return agent;
  };
  /** Lets a few reconcile passes run (the period is 1 s), so that whatever they would do, they have done. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 4 * INTERVAL_MS));

  const step = (name: string, body: (t: TestContext) => Promise<void>) =>
    test(name, async (t) => {
      try {
        await body(t);
      } catch (error) {
        failures++;
        throw error;
      }
    });

  before(async () => {
    await ensureTestImages();
    cp = await startControlPlane({
      instances: INSTANCES,
      env: {
        AGENTPOD_RECONCILE_INTERVAL_MS: String(INTERVAL_MS),
        AGENTPOD_RECONCILE_BACKOFF_BASE_MS: '200',
        AGENTPOD_RECONCILE_BACKOFF_CAP_MS: '3000',
        AGENTPOD_RECONCILE_RESET_AFTER_MS: '3000',
        AGENTPOD_PORT_RANGE: `${PORT_LOW}-${PORT_LOW + 99}`,
        // The test's webhook receiver listens on 127.0.0.1; its first answer is an error, retried after 200 ms.
        AGENTPOD_WEBHOOK_ALLOW_PRIVATE: 'true',
        AGENTPOD_WEBHOOK_BACKOFF_BASE_MS: '200',
      },
    });
    cleanup.add(() => cp.close());
    cleanup.add(() => removeTenantResources([TENANT]));
    url = cp.url;
    const dir = await tempDir(cleanup, 'self-healing');
    const scope = await startDockerScope(dir, [TENANT]);
    cleanup.add(() => scope.stop());
    host = { stateDir: join(dir, 'agent-state'), home: join(dir, 'agent-home'), dockerSocket: scope.socketPath };
    cleanup.add(
      stopAgentAndReport(
        () => agent,
        () => failures > 0,
        cp,
      ),
    );

    token = await bootstrapAdmin(cp, ADMIN);
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: token });
    await api('POST', '/api/v1/tenants', { id: TENANT, name: 'Self-healing' });

    const added = await api<AddNodeResult>('POST', '/api/v1/nodes', { name: NODE });
    nodeId = added.node.id;
    const joined = await agentCommand(host, ['join', url, added.joinToken]);
    assert.equal(joined.code, 0, joined.stderr);
    await startAgent().waitFor(/connected to the control plane/);
    await nodeUntil('online');
    for (const pod of WEB) {
      await api('POST', `/api/v1/tenants/${TENANT}/pods`, {
        podId: pod,
        spec: { image: TEST_IMAGES.node, ports: [{ containerPort: TEST_APP_PORT }], limits: { memoryBytes: 64 * MiB } },
      });
    }
    await waitAllRunning();
  });
  after(() => cleanup.run());

  step('a. kill -9 of a pod’s main process from the host: the container runs a new process', async (t) => {
    const before = await crash('web-1');
    const started = performance.now();
    const { after, ms } = await healed('web-1', before, started);
    t.diagnostic(`kill -9 → new process running: ${ms} ms`);
    assert.equal(after.id, before.id, 'the same container is started again, not a new one');
    await podUntil('web-1', (v) => v.status === 'running' && v.restarts === 1, 'running, 1 restart');
  });

  step('b. an outside `docker kill`: the container runs again', async (t) => {
    const before = await containerOf('web-2');
    const started = performance.now();
    await docker.getContainer(before.id).kill();
    const { after, ms } = await healed('web-2', before, started);
    t.diagnostic(`docker kill → new process running: ${ms} ms`);
    assert.equal(after.id, before.id);
    await podUntil('web-2', (v) => v.status === 'running' && v.restarts === 1, 'running, 1 restart');
  });

  step('d. one of two reconciler replicas SIGKILLed: pods crashed afterwards are still healed', async (t) => {
    // Pods run healthy past the reset period first, so each crash below is a first recovery (made at once).
    await settle();
    await cp.stop('reconciler', 'SIGKILL');
    const killed = performance.now();
    // Every pod: whichever shards the dead replica held, some of these pods are in them.
    const crashed = new Map<string, Seen>();
    for (const pod of WEB) crashed.set(pod, await crash(pod));
    const times = await Promise.all(WEB.map((pod) => healed(pod, crashed.get(pod) as Seen, killed)));
    t.diagnostic(`replica killed → each pod running again after ${times.map((h) => h.ms).join(', ')} ms`);
    for (const [i, pod] of WEB.entries()) assert.equal(times[i]?.after.id, crashed.get(pod)?.id);
    assert.equal(cp.process('reconciler-2').running(), true);
    await cp.start('reconciler');
    await waitAllRunning();
  });

  step(
    'c. every control-plane service stopped: pods run on; started again: nothing restarted or duplicated',
    async (t) => {
      await settle();
      const before = await snapshot();
      const stopped = performance.now();
      await cp.stopAll();
      t.diagnostic(`control plane stopped in ${Math.round(performance.now() - stopped)} ms`);
      await settle();
      for (const pod of WEB) assert.deepEqual(await containerOf(pod), before.containers.get(pod), `${pod} runs on`);

      const mark = agent?.output().length ?? 0;
      await cp.startAll();
      await agent?.waitFor(/connected to the control plane/, 60_000, mark);
      await nodeUntil('online');
      await waitAllRunning();
      await settle();
      await assertUnchanged(before, 'after the control plane came back');
    },
  );

  step('e. kill -9 of the agent 10 times: containers run on with unchanged start times and counts', async () => {
    const before = await snapshot();
    for (let round = 0; round < 10; round++) {
      // At a different moment of its life each time: right after it connected, or a little later.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      assert.equal(await agent?.stop('SIGKILL'), null, 'killed, no exit code');
      await startAgent().waitFor(/connected to the control plane/, 60_000);
    }
    await nodeUntil('online');
    await waitAllRunning();
    await settle();
    await assertUnchanged(before, 'after 10 agent crashes');
  });

  step(
    'f. a frozen agent (SIGSTOP): the node becomes unreachable, its pods stay; thawed: online, nothing doubled',
    async (t) => {
      const before = await snapshot();
      const frozen = performance.now();
      agent?.signal('SIGSTOP');
      try {
        await nodeUntil('unreachable', 60_000);
        t.diagnostic(`heartbeats stopped → node unreachable after ${Math.round(performance.now() - frozen)} ms`);
        await settle();
        for (const pod of WEB) {
          // Still there, on its node, showing why nothing is known about it now.
          const view = await podUntil(pod, (v) => /node unreachable/.test(v.message ?? ''), 'node unreachable');
          assert.equal(view.nodeId, nodeId, `${pod} stays on its node`);
          assert.deepEqual(await containerOf(pod), before.containers.get(pod), `${pod} runs on, untouched`);
        }
      } finally {
        agent?.signal('SIGCONT');
      }
      const thawed = performance.now();
      await nodeUntil('online');
      t.diagnostic(`thawed → node online after ${Math.round(performance.now() - thawed)} ms`);
      await waitAllRunning();
      await settle();
      await assertUnchanged(before, 'after the agent was frozen and thawed');
    },
  );

  step(
    'g. a process that exits at once: growing backoff, `failing` after 3 recoveries, an alert and a signed webhook',
    async (t) => {
      const sink: WebhookSink = await startWebhookSink();
      cleanup.add(() => sink.close());
      const added = await admin.run(['webhook', 'add', sink.url, '--tenant', TENANT, '--json']);
      exited(added, EXIT.ok);
      sink.answerNext([503]);
      const { secret } = added.json<z.infer<typeof AddWebhookResult>>();
      assert.match(secret, /^whsec_/, 'webhook add shows the signing secret, once');

      await api('POST', `/api/v1/tenants/${TENANT}/pods`, {
        podId: CRASHY,
        spec: { image: TEST_IMAGES.node, env: { EXIT_AT_START: '1' }, limits: { memoryBytes: 64 * MiB } },
      });
      const created = performance.now();
      const failing = await podUntil(CRASHY, (v) => v.status === 'failing', 'failing', 60_000);
      t.diagnostic(`created → failing after ${Math.round(performance.now() - created)} ms: ${failing.message}`);
      assert.ok(failing.message, 'failing says why');

      // The reconciler's own record: recoveries 1, 2, 3 (each a crash), then PodFailing, once.
      const events = await eventsOf(podAggregateId(TENANT, CRASHY));
      const recoveries = events
        .filter((e) => e.type === 'PodActionSucceeded' || e.type === 'PodActionFailed')
        .map((e) => ({
          at: e.occurredAt,
          recovery: (e.data as { recovery?: { attempt: number; reason: string } }).recovery,
        }))
        .filter((e) => e.recovery);
      const marks = events.filter((e) => e.type === 'PodFailing');
      assert.equal(marks.length, 1, 'PodFailing recorded once');
      const mark = marks[0]?.data as { reason: string; failures: number; exitCode: number | null };
      assert.equal(mark.reason, 'crash-loop');
      assert.ok(mark.failures >= 3, JSON.stringify(mark));
      assert.equal(mark.exitCode, 1);
      const beforeMark = recoveries.filter((r) => r.at <= (marks[0]?.occurredAt ?? ''));
      assert.deepEqual(
        beforeMark.map((r) => [r.recovery?.reason, r.recovery?.attempt]),
        [
          ['crash', 1],
          ['crash', 2],
          ['crash', 3],
        ],
      );
      const gaps = recoveries.slice(1).map((r, i) => Date.parse(r.at) - Date.parse(recoveries[i]?.at ?? r.at));
      t.diagnostic(`gaps between recoveries (backoff base 200 ms): ${gaps.join(', ')} ms`);

      const alert = await eventually(
        async () => {
          const listed = await admin.run(['alerts', 'list', '--tenant', TENANT, '--json']);
          exited(listed, EXIT.ok);
          const mine = listed.json<{ alerts: AlertView[] }>().alerts.filter((a) => a.target.podId === CRASHY);
          assert.equal(mine.length, 1, listed.stdout);
          return mine[0] as AlertView;
        },
        30_000,
        1_000,
      );
      assert.deepEqual([alert.kind, alert.state, alert.tenantId], ['pod-failing', 'firing', TENANT]);

      // The receiver fails the first attempt (503): the same delivery comes again, signed anew.
      const fired = (c: WebhookCall) => {
        const payload = c.json as Partial<WebhookPayload> | undefined;
        return payload?.type === 'alert.fired' && payload.alert?.target.podId === CRASHY;
      };
      const first = await sink.next(fired, 30_000);
      const second = await sink.next((c) => c !== first && fired(c), 30_000);
      t.diagnostic(`webhook retried ${Math.round(second.at - first.at)} ms after a 503`);
      for (const call of [first, second]) {
        assert.equal(call.method, 'POST');
        const payload = call.json as WebhookPayload;
        assert.deepEqual([payload.alert?.alertId, payload.tenantId], [alert.alertId, TENANT]);
        const signedBy = signatureHeader(call, secret);
        assert.ok(signedBy, `signed: HMAC-SHA256 with the webhook's secret; headers ${JSON.stringify(call.headers)}`);
      }
      assert.equal((second.json as WebhookPayload).id, (first.json as WebhookPayload).id, 'one delivery, retried');

      await api('DELETE', `/api/v1/tenants/${TENANT}/pods/${CRASHY}`);
    },
  );

  /** The events of one aggregate of the RECONCILER stream, oldest first. */
  async function eventsOf(aggregate: string): Promise<EventEnvelope[]> {
    const response = await fetch(`${url}/api/v1/events?context=reconciler&aggregate=${aggregate}&limit=1000`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const trimmed = text.trim();
    if (trimmed.startsWith('{"events"')) return (JSON.parse(trimmed) as { events: EventEnvelope[] }).events;
    return trimmed
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as EventEnvelope);
  }
});
