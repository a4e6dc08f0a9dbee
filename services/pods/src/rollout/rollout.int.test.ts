import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AddNodeResult,
  type CreatePodResult,
  commandSubject,
  type ObservedContainer,
  type PodView,
  podAggregateId,
  querySubject,
  type RolloutView,
} from '@agentpod/contracts';
import type { z } from 'zod';
import { person, type Stack, startStack } from '../testing/stack.ts';

/*
 * Rollouts in the pods service on a private NATS and a fresh database, with a second replica competing for the
 * runner. No agent and no reconciler run: what they would report (a container of a generation running, the probe's
 * verdict, a recovery) is appended to AGENT and RECONCILER as they would append it, when the test decides.
 */

const cmd = (name: string) => commandSubject('pods', name);
const qry = (name: string) => querySubject('pods', name);
const MiB = 1024 ** 2;
const OLD = 'agentpod-test/node:1';
const NEW = 'agentpod-test/node:2';

const admin = person('admin', { platformAdmin: true });
const owner = person('owner');
const member = person('member');
const viewer = person('viewer');
const stranger = person('stranger');

describe('rollouts in the pods service', () => {
  let stack: Stack;
  let nodeId = '';
  let succeeded = '';
  const containers = new Map<string, number>();

  before(async () => {
    stack = await startStack({ AGENTPOD_PORT_RANGE: '21000-21049' });
    await stack.startReplica();
    const role = (who: typeof owner, r: string) => ({
      type: 'MemberAdded',
      data: { userId: who.userId, email: who.email, role: r },
    });
    await stack.append('tenants', 'acme', [
      { type: 'TenantCreated', data: { tenantId: 'acme', name: 'Acme', ownerId: owner.userId } },
      role(owner, 'owner'),
      role(member, 'member'),
      role(viewer, 'viewer'),
    ]);
    await stack.append('tenants', 'beta', [
      { type: 'TenantCreated', data: { tenantId: 'beta', name: 'Beta', ownerId: stranger.userId } },
      role(stranger, 'owner'),
    ]);
    nodeId = (await stack.call<AddNodeResult>(cmd('addNode'), { name: 'alpha' }, admin)).node.id;
    await stack.connectNode(nodeId);
    for (const [tenantId, podId] of [
      ['acme', 'api'],
      ['acme', 'dbs'],
      ['acme', 'web'],
      ['beta', 'shop'],
    ] as const) {
      const spec = {
        image: OLD,
        ports: [{ containerPort: 8080 }],
        limits: { memoryBytes: 32 * MiB },
        health: { type: 'http', path: '/healthz' },
      };
      await stack.call<z.infer<typeof CreatePodResult>>(cmd('createPod'), { tenantId, podId, spec }, admin);
      await runs(tenantId, podId, 1, 'healthy');
    }
  });
  after(() => stack?.stop());

  /** What the agent would report: the pod's container of `generation` running, and the probe's verdict on it. */
  async function runs(tenantId: string, podId: string, generation: number, health: 'healthy' | 'unhealthy') {
    const id = `c-${tenantId}-${podId}-${generation}`;
    const startedAt = `2026-03-01T12:00:0${containers.size % 10}.000000001Z`;
    containers.set(id, generation);
    const container: ObservedContainer = {
      id,
      name: `agentpod-${tenantId}_${podId}-g${generation}`,
      tenantId,
      podId,
      generation,
      image: OLD,
      imageId: 'sha256:abc',
      state: 'running',
      pid: 42,
      exitCode: null,
      oomKilled: false,
      error: null,
      createdAt: startedAt,
      startedAt,
      finishedAt: null,
      restartCount: 0,
      ports: [],
      health: null,
      volume: null,
      labels: {},
    };
    const ids = { containerId: id, tenantId, podId, generation };
    await stack.append(
      'agent',
      nodeId,
      [
        { type: 'ContainerChanged', data: { action: 'start', ...ids, exitCode: null, container } },
        { type: 'HealthChanged', data: { ...ids, startedAt, status: health, failures: 0, lastError: null } },
      ],
      { node: nodeId },
    );
    await stack.caughtUp();
  }

  const getPod = (tenantId: string, podId: string) => stack.call<PodView>(qry('getPod'), { tenantId, podId }, admin);
  const getRollout = (rolloutId: string, as = owner) => stack.call<RolloutView>(qry('getRollout'), { rolloutId }, as);
  /** Polls the rollout (the runner works every second) until `check` passes; 20 s at most. */
  async function rolloutUntil(id: string, check: (r: RolloutView) => boolean, what: string): Promise<RolloutView> {
    let last: RolloutView | undefined;
    for (let i = 0; i < 100; i++) {
      last = await getRollout(id);
      if (check(last)) return last;
      await sleep(200);
    }
    assert.fail(`rollout ${id}: waiting for ${what}; now ${JSON.stringify(last)}`);
  }
  const phases = (rollout: RolloutView) => rollout.pods.map((pod) => `${pod.podId}:${pod.phase}`);
  const start = (input: Record<string, unknown>, as = owner) => stack.call<RolloutView>(cmd('startRollout'), input, as);

  test('bad requests: nothing selected or both, a foreign or missing pod, too low a role, nothing to do', async () => {
    const image = NEW;
    const refused = (input: Record<string, unknown>, as = owner) => stack.refused(cmd('startRollout'), input, as);
    assert.equal((await refused({ tenantId: 'acme', image })).code, 'invalid');
    assert.equal((await refused({ tenantId: 'acme', pods: ['web'], all: true, image })).code, 'invalid');
    assert.equal((await refused({ tenantId: 'acme', pods: ['web'], image: 'not an image!' })).code, 'invalid');
    assert.equal((await refused({ tenantId: 'beta', pods: ['shop'], image }, member)).code, 'not_found');
    assert.match((await refused({ tenantId: 'acme', pods: ['nope'], image })).message, /no pod acme\/nope/);
    assert.equal((await refused({ tenantId: 'acme', pods: ['web'], image }, viewer)).code, 'forbidden');
    assert.equal((await refused({ tenantId: 'acme', all: true, image }, member)).code, 'forbidden');
    assert.equal((await refused({ all: true, image }, owner)).code, 'forbidden');
    const nothing = await refused({ tenantId: 'acme', all: true, image: OLD });
    assert.deepEqual(
      [nothing.code, nothing.message],
      ['invalid', `nothing to upgrade: no running pod of tenant acme has an image other than ${OLD}`],
    );
    const unknown = await stack.refused(qry('getRollout'), { rolloutId: 'rol_aaaaaaaaaaaaaaaaaaaa' }, owner);
    assert.equal(unknown.code, 'not_found');
  });

  test('two pods, one at a time: each upgraded and healthy in turn; succeeded', async () => {
    const started = await start({ tenantId: 'acme', pods: ['web', 'api'], image: NEW, timeoutSeconds: 60 }, member);
    assert.deepEqual(phases(started), ['api:pending', 'web:pending']);
    assert.deepEqual(started.startedBy, { kind: 'user', id: member.userId });
    const first = await rolloutUntil(started.id, (r) => r.pods[0]?.phase === 'upgrading', 'api upgrading');
    assert.deepEqual(phases(first), ['api:upgrading', 'web:pending'], 'one at a time');
    const api = await getPod('acme', 'api');
    assert.deepEqual([api.image, api.generation, first.pods[0]?.generation], [NEW, 2, 2]);
    assert.equal((await getPod('acme', 'web')).generation, 1, 'the second waits for the first');
    await sleep(1_500);
    assert.deepEqual(phases(await getRollout(started.id)), ['api:upgrading', 'web:pending'], 'not healthy yet');

    await runs('acme', 'api', 2, 'healthy');
    await rolloutUntil(started.id, (r) => r.pods[1]?.phase === 'upgrading', 'web upgrading');
    await runs('acme', 'web', 2, 'healthy');
    const done = await rolloutUntil(started.id, (r) => r.status !== 'running', 'the end');
    assert.deepEqual([done.status, done.reason, phases(done)], ['succeeded', null, ['api:healthy', 'web:healthy']]);
    succeeded = done.id;
    // Two replicas, one runner at a time: each pod got exactly one new generation.
    assert.deepEqual([(await getPod('acme', 'api')).generation, (await getPod('acme', 'web')).generation], [2, 2]);
    const listed = await stack.call<{ rollouts: RolloutView[] }>(qry('listRollouts'), { tenantId: 'acme' }, viewer);
    assert.deepEqual(
      listed.rollouts.map((r) => r.id),
      [started.id],
    );
    const foreign = await stack.call<{ rollouts: RolloutView[] }>(qry('listRollouts'), {}, stranger);
    assert.deepEqual(foreign.rollouts, []);
    assert.equal((await stack.refused(qry('getRollout'), { rolloutId: started.id }, stranger)).code, 'not_found');
  });

  test('a pod that turns unhealthy: rolled back to its image, the rollout stops there, the rest untouched', async () => {
    const bad = 'agentpod-test/node:bad';
    const started = await start({ tenantId: 'acme', all: true, image: bad });
    assert.deepEqual(phases(started), ['api:pending', 'dbs:pending', 'web:pending']);
    await rolloutUntil(started.id, (r) => r.pods[0]?.phase === 'upgrading', 'api upgrading');
    assert.equal((await getPod('acme', 'api')).generation, 3);
    await runs('acme', 'api', 3, 'unhealthy');
    const done = await rolloutUntil(started.id, (r) => r.status !== 'running', 'the end');
    assert.equal(done.status, 'failed');
    assert.equal(done.reason, 'acme/api: its health check fails');
    assert.deepEqual(phases(done), ['api:rolledBack', 'dbs:pending', 'web:pending']);
    assert.equal(done.pods[0]?.rollbackGeneration, 4);
    const api = await getPod('acme', 'api');
    assert.deepEqual([api.image, api.generation], [NEW, 4], 'back on the image it had');
    const [db, web] = [await getPod('acme', 'dbs'), await getPod('acme', 'web')];
    assert.deepEqual([db.image, db.generation, web.image, web.generation], [OLD, 1, NEW, 2]);
    const events = await stack.store.read('pods', podAggregateId('acme', 'api'));
    const update = events.at(-1)?.envelope;
    assert.deepEqual(update?.actor, { kind: 'system', id: 'pods' });
    assert.equal(
      update?.correlationId,
      (await stack.store.read('pods', `rollout_${started.id}`))[0]?.envelope.correlationId,
    );
  });

  test('a crash healed by the reconciler after the upgrade fails the pod too', async () => {
    const started = await start({ tenantId: 'acme', pods: ['dbs'], image: NEW });
    await rolloutUntil(started.id, (r) => r.pods[0]?.phase === 'upgrading', 'dbs upgrading');
    const recovery = { reason: 'crash', attempt: 1 };
    const action = {
      tenantId: 'acme',
      podId: 'dbs',
      nodeId,
      generation: 2,
      action: 'start',
      containerId: 'c',
      recovery,
    };
    await stack.append('reconciler', podAggregateId('acme', 'dbs'), [{ type: 'PodActionSucceeded', data: action }]);
    const done = await rolloutUntil(started.id, (r) => r.status !== 'running', 'the end');
    assert.match(done.reason ?? '', /^acme\/dbs: restarted 1 time\(s\) by the reconciler/);
    assert.equal((await getPod('acme', 'dbs')).restarts, 1);
  });

  test('cancel: members of its tenant may; it stops where it is; an ended one cannot be', async () => {
    const started = await start({ tenantId: 'acme', all: true, image: 'agentpod-test/node:3' });
    const cancel = (as = member) => stack.call<RolloutView>(cmd('cancelRollout'), { rolloutId: started.id }, as);
    assert.equal((await stack.refused(cmd('cancelRollout'), { rolloutId: started.id }, viewer)).code, 'forbidden');
    assert.equal((await stack.refused(cmd('cancelRollout'), { rolloutId: started.id }, stranger)).code, 'not_found');
    const cancelled = await cancel();
    assert.equal(cancelled.status, 'cancelled');
    await sleep(1_500);
    const after = await getRollout(started.id);
    assert.equal(after.status, 'cancelled');
    assert.ok(after.pods.filter((p) => p.phase === 'pending').length >= 2, 'nothing starts after a cancel');
    const ended = await stack.refused(cmd('cancelRollout'), { rolloutId: succeeded }, owner);
    assert.deepEqual(
      [ended.code, ended.message],
      ['conflict', `rollout ${succeeded} has ended (succeeded); it changes no more pods`],
    );
  });

  test('the rollouts and recoveries rebuilt from the log are identical', async () => {
    await stack.caughtUp();
    const report = await stack.pods.runtime.replay({ compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    assert.ok((report.comparison ?? []).some((t) => t.table === 'rollouts' && t.live >= 4));
  });
});

describe('pod read model: failing, recoveries, an unreachable node', () => {
  let stack: Stack;
  let nodeId = '';
  before(async () => {
    stack = await startStack({ AGENTPOD_PORT_RANGE: '21050-21059' });
    await stack.append('tenants', 'acme', [
      { type: 'TenantCreated', data: { tenantId: 'acme', name: 'Acme', ownerId: owner.userId } },
    ]);
    nodeId = (await stack.call<AddNodeResult>(cmd('addNode'), { name: 'alpha' }, admin)).node.id;
    await stack.connectNode(nodeId);
  });
  after(() => stack?.stop());

  test('failing from PodFailing until PodRecovered, with its summary; restarts count recoveries only', async () => {
    const spec = { image: OLD, limits: { memoryBytes: 32 * MiB } };
    await stack.call(cmd('createPod'), { tenantId: 'acme', podId: 'loop', spec }, admin);
    const pod = { tenantId: 'acme', podId: 'loop', nodeId, generation: 1 };
    const summary = 'exited with code 1 3 times in a row; next try in 4 s';
    const ok = (recovery: unknown) => ({
      type: 'PodActionSucceeded',
      data: { ...pod, action: 'start', containerId: 'c1', recovery },
    });
    await stack.append('reconciler', podAggregateId('acme', 'loop'), [
      ok(null),
      ok({ reason: 'crash', attempt: 1 }),
      ok({ reason: 'unhealthy', attempt: 2 }),
      {
        type: 'PodFailing',
        data: { ...pod, reason: 'crash-loop', failures: 3, exitCode: 1, lastError: null, summary },
      },
    ]);
    await stack.caughtUp();
    const failing = await stack.call<PodView>(qry('getPod'), { tenantId: 'acme', podId: 'loop' }, admin);
    assert.deepEqual([failing.status, failing.message, failing.restarts], ['failing', summary, 2]);
    await stack.append('reconciler', podAggregateId('acme', 'loop'), [{ type: 'PodRecovered', data: pod }]);
    await stack.caughtUp();
    const recovered = await stack.call<PodView>(qry('getPod'), { tenantId: 'acme', podId: 'loop' }, admin);
    assert.notEqual(recovered.status, 'failing');
  });

  test('a node whose socket closed is unreachable at once; its pods say so and stay', async () => {
    stack.stopHeartbeats(nodeId);
    await sleep(50);
    await stack.append('agent', nodeId, [{ type: 'NodeDisconnected', data: { reason: 'test' } }], { node: nodeId });
    await stack.caughtUp();
    const node = await stack.call<{ status: string }>(qry('getNode'), { node: nodeId }, admin);
    assert.equal(node.status, 'unreachable');
    const pod = await stack.call<PodView>(qry('getPod'), { tenantId: 'acme', podId: 'loop' }, admin);
    assert.deepEqual([pod.status, pod.message], ['pending', 'node unreachable']);
  });
});
