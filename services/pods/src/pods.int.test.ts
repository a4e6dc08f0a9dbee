import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AddNodeResult,
  assertSafe,
  type ContainerSpec,
  type CreatePodResult,
  commandSubject,
  type NodeView,
  type ObservedContainer,
  POD_ACCESS_TOKEN_ENV,
  type PodView,
  podAggregateId,
  querySubject,
} from '@agentpod/contracts';
import type { z } from 'zod';
import { facts, PUBLIC_URL, person, type Stack, startStack } from './testing/stack.ts';

const cmd = (name: string) => commandSubject('pods', name);
const qry = (name: string) => querySubject('pods', name);
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const admin = person('admin', { platformAdmin: true });
const owner = person('owner');
const member = person('member');
const viewer = person('viewer');
const stranger = person('stranger');
const reconciler = { service: 'reconciler' };

type Created = z.infer<typeof CreatePodResult>;
const podSpec = (extra: Record<string, unknown> = {}) => ({
  image: 'agentpod-test/node:1',
  ports: [{ containerPort: 8080 }],
  limits: { memoryBytes: 64 * MiB },
  ...extra,
});

/** Every file under `dir`, concatenated: the raw bytes of the JetStream store. */
async function rawBytes(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) chunks.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return Buffer.concat(chunks);
}

describe('pods service over NATS: nodes, placement, ports, secrets, access', () => {
  let stack: Stack;
  const nodes: Record<string, string> = {};

  before(async () => {
    stack = await startStack({ AGENTPOD_PORT_RANGE: '20000-20019' });
    const member_ = (who: typeof owner, role: string) => ({
      type: 'MemberAdded',
      data: { userId: who.userId, email: who.email, role },
    });
    await stack.append('tenants', 'acme', [
      { type: 'TenantCreated', data: { tenantId: 'acme', name: 'Acme', ownerId: owner.userId } },
      member_(owner, 'owner'),
      member_(member, 'member'),
      member_(viewer, 'viewer'),
    ]);
    await stack.append('tenants', 'beta', [
      { type: 'TenantCreated', data: { tenantId: 'beta', name: 'Beta', ownerId: stranger.userId } },
      member_(stranger, 'owner'),
    ]);
  });
  after(async () => {
    await stack?.stop();
  });

  const create = (podId: string, spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    stack.call<Created>(cmd('createPod'), { tenantId: 'acme', podId, spec: podSpec(spec), ...extra }, member);
  const getPod = (podId: string, as = member) => stack.call<PodView>(qry('getPod'), { tenantId: 'acme', podId }, as);
  const storedEvents = (podId: string) => stack.store.lastSequence('pods', podAggregateId('acme', podId));
  const placementsOn = async (nodeId: string) =>
    stack.pods.runtime.db.selectFrom('placements').selectAll().where('node_id', '=', nodeId).execute();

  test('a platform admin adds a pool node: a join token from identity, asked as the pods service', async () => {
    const correlationId = `add-alpha-${randomUUID()}`;
    const added = await stack.call<AddNodeResult>(cmd('addNode'), { name: 'alpha' }, admin, { correlationId });
    nodes.alpha = added.node.id;
    assert.match(added.node.id, /^nod_[a-z0-9]{24}$/);
    assert.equal(added.node.status, 'pending');
    assert.equal(added.node.tenantId, null);
    assert.equal(added.installCommand, `agentpod-agent join ${PUBLIC_URL} ${added.joinToken}`);
    const asked = stack.identityCalls.find((c) => c.subject === 'issueNodeJoinToken');
    assert.deepEqual(asked?.data, { nodeId: added.node.id });
    assert.deepEqual(asked?.meta.actor, { kind: 'system', id: 'pods' });
    assert.equal(asked?.meta.correlationId, correlationId);

    assert.match((await stack.refused(cmd('addNode'), { name: 'alpha' }, admin)).message, /a node named alpha exists/);
    assert.equal((await stack.refused(cmd('addNode'), { name: 'other' }, member)).code, 'forbidden');
    const reused = await stack.call<AddNodeResult>(cmd('addNode'), { name: 'alpha', reuse: true }, admin);
    assert.equal(reused.node.id, added.node.id);
    assert.notEqual(reused.joinToken, added.joinToken);
  });

  test('two nodes added with one name at once: one wins, the other is refused', async () => {
    const results = await Promise.allSettled(
      [1, 2].map(() => stack.call<AddNodeResult>(cmd('addNode'), { name: 'racer' }, admin)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const { nodes: listed } = await stack.call<{ nodes: NodeView[] }>(qry('listNodes'), {}, admin);
    assert.equal(listed.filter((n) => n.name === 'racer').length, 1);
  });

  test('a tenant owner adds the tenant’s own node; a member may not; another tenant cannot see it', async () => {
    const own = await stack.call<AddNodeResult>(cmd('addNode'), { name: 'acme-own', tenantId: 'acme' }, owner);
    nodes.own = own.node.id;
    assert.equal(own.node.tenantId, 'acme');
    const refusal = await stack.refused(cmd('addNode'), { name: 'acme-two', tenantId: 'acme' }, member);
    assert.equal(refusal.code, 'forbidden');
    assert.equal((await stack.refused(cmd('addNode'), { name: 'x-y', tenantId: 'acme' }, stranger)).code, 'not_found');
    assert.equal((await stack.refused(qry('getNode'), { node: 'acme-own' }, stranger)).code, 'not_found');
  });

  test('a node whose agent connects is online with its facts; members see their tenant’s nodes only', async () => {
    await stack.connectNode(nodes.alpha ?? '', { memoryBytes: 64 * GiB });
    const bravo = await stack.call<AddNodeResult>(cmd('addNode'), { name: 'bravo' }, admin);
    nodes.bravo = bravo.node.id;
    await stack.connectNode(bravo.node.id, { memoryBytes: 2 * GiB });
    await stack.caughtUp();
    const alpha = await stack.call<NodeView>(qry('getNode'), { node: 'alpha' }, admin);
    assert.equal(alpha.status, 'online');
    assert.deepEqual(alpha.facts, facts({ memoryBytes: 64 * GiB }));
    const seen = await stack.call<{ nodes: NodeView[] }>(qry('listNodes'), {}, member);
    assert.deepEqual(
      seen.nodes.map((n) => n.name),
      ['acme-own'],
    );
    assert.equal((await stack.refused(qry('getNode'), { node: 'alpha' }, member)).code, 'not_found');
  });

  test('20 concurrent creations on one node get 20 distinct host ports; a 21st is refused and stores nothing', async () => {
    // Two replicas share the requests, so placements on the node's aggregate really race each other.
    const replica = await stack.startReplica();
    const pods = Array.from({ length: 20 }, (_, i) => `web-${i}`);
    const created = await Promise.all(pods.map((podId) => create(podId, {}, { node: 'alpha' }))).finally(() =>
      replica.stop(),
    );
    const ports = created.map((pod) => pod.ports[0]?.hostPort ?? 0);
    assert.equal(new Set(ports).size, 20);
    assert.ok(ports.every((port) => port >= 20_000 && port <= 20_019));
    assert.ok(created.every((pod) => pod.nodeId === nodes.alpha && pod.generation === 1));
    assert.ok(created.every((pod) => pod.accessToken.startsWith('apa_')));

    const refusal = await stack.refused(
      cmd('createPod'),
      { tenantId: 'acme', podId: 'web-20', spec: podSpec(), node: 'alpha' },
      member,
    );
    assert.equal(refusal.code, 'conflict');
    assert.match(refusal.message, /no free host port for 1 port\(s\) in 20000-20019/);
    assert.equal(await storedEvents('web-20'), 0);
    await stack.caughtUp();
    assert.equal((await placementsOn(nodes.alpha ?? '')).length, 20);
  });

  test('without a node named, a pod goes where there is room; no node with room is a conflict and stores nothing', async () => {
    const placed = await create('auto');
    assert.equal(placed.nodeId, nodes.bravo, 'alpha has no free port left, bravo has');
    const refusal = await stack.refused(
      cmd('createPod'),
      { tenantId: 'acme', podId: 'huge', spec: podSpec({ limits: { memoryBytes: 2 ** 40 } }) },
      member,
    );
    assert.equal(refusal.code, 'conflict');
    assert.match(refusal.message, /^no node has room for 1 TiB/);
    assert.equal(await storedEvents('huge'), 0);
  });

  test('a pod on a node that is unreachable is accepted and pending: node unreachable', async () => {
    const pod = await create('waiting', {}, { node: 'acme-own' });
    assert.equal(pod.status, 'pending');
    assert.equal(pod.message, 'node unreachable');
    assert.equal(pod.nodeName, 'acme-own');
  });

  test('secrets and the access token never appear in clear in the stream’s bytes or the tables', async () => {
    const secret = `sekrit-${randomUUID()}`;
    const plain = `plain-${randomUUID()}`;
    const pod = await create('vault', { env: { PLAIN: plain } }, { secrets: { API_KEY: secret } });
    assert.deepEqual(pod.spec.secretNames, ['API_KEY']);
    assert.ok(!JSON.stringify(pod.spec).includes(secret));

    // The file store may flush a moment after the publish: wait for the plain env value, which proves these bytes
    // are the stream's, then look for the secrets in them.
    let bytes = await rawBytes(stack.nats.storeDir);
    for (let i = 0; i < 50 && !bytes.includes(plain); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      bytes = await rawBytes(stack.nats.storeDir);
    }
    assert.ok(bytes.includes(plain), 'the stream holds the pod');
    assert.ok(!bytes.includes(secret), 'the secret value is not in the stream');
    assert.ok(!bytes.includes(pod.accessToken), 'the access token is not in the stream');
    assert.ok(!bytes.includes(pod.accessToken.slice(4)), 'nor is its random part');

    const tables = await stack.pods.runtime.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'pods'`;
    assert.ok(tables.length >= 8);
    for (const { table_name: table } of tables) {
      const rows = await stack.pods.runtime.sql.unsafe<{ row: string }[]>(
        `select t::text as row from pods."${table}" t`,
      );
      const text = rows.map((r) => r.row).join('\n');
      assert.ok(!text.includes(secret) && !text.includes(pod.accessToken.slice(4)), `table ${table} holds a secret`);
    }

    const token = await stack.call<{ accessToken: string }>(
      qry('podToken'),
      { tenantId: 'acme', podId: 'vault' },
      owner,
    );
    assert.equal(token.accessToken, pod.accessToken);
    assert.equal(
      (await stack.refused(qry('podToken'), { tenantId: 'acme', podId: 'vault' }, member)).code,
      'forbidden',
    );
  });

  test('the container spec, secrets decrypted, goes to the reconciler and to nobody else', async () => {
    const key = { tenantId: 'acme', podId: 'vault', generation: 1 };
    const spec = await stack.call<ContainerSpec>(qry('containerSpec'), key, reconciler);
    assert.match(spec.env.API_KEY ?? '', /^sekrit-/);
    assert.match(spec.env[POD_ACCESS_TOKEN_ENV] ?? '', /^apa_/);
    assert.deepEqual(assertSafe(spec), spec);
    for (const caller of [admin, owner, { service: 'tenants' }, { node: nodes.bravo ?? '' }]) {
      assert.equal((await stack.refused(qry('containerSpec'), key, caller)).code, 'forbidden');
    }
    assert.equal((await stack.refused(qry('containerSpec'), { ...key, generation: 2 }, reconciler)).code, 'conflict');
  });

  test('escalations are refused on create and on update, and nothing is stored', async () => {
    for (const extra of [
      { privileged: true },
      { network_mode: 'host' },
      { cap_add: ['NET_ADMIN'] },
      { devices: ['/dev/kmsg'] },
      { volumes: ['/etc:/host-etc'] },
      { env: { X: '/var/run/docker.sock' } },
    ]) {
      const refusal = await stack.refused(
        cmd('createPod'),
        { tenantId: 'acme', podId: 'evil', spec: podSpec(extra) },
        member,
      );
      assert.equal(refusal.code, 'forbidden', refusal.message);
    }
    assert.equal(await storedEvents('evil'), 0);
    const before = await storedEvents('vault');
    for (const extra of [{ privileged: true }, { cap_add: ['SYS_ADMIN'] }, { cmd: ['cat', '/var/run/docker.sock'] }]) {
      const refusal = await stack.refused(cmd('updatePod'), { tenantId: 'acme', podId: 'vault', ...extra }, member);
      assert.equal(refusal.code, 'forbidden', refusal.message);
    }
    assert.equal(await storedEvents('vault'), before);
    assert.equal((await getPod('vault')).generation, 1);
  });

  test('a member of another tenant gets not_found; a viewer reads but changes nothing', async () => {
    const key = { tenantId: 'acme', podId: 'vault' };
    for (const [subject, data] of [
      [qry('getPod'), key],
      [qry('listPods'), { tenantId: 'acme' }],
      [qry('podToken'), key],
      [qry('logTarget'), key],
      [cmd('stopPod'), key],
      [cmd('deletePod'), key],
      [cmd('updatePod'), { ...key, image: 'agentpod-test/node:2' }],
    ] as const) {
      assert.equal((await stack.refused(subject, data, stranger)).code, 'not_found', subject);
    }
    const theirs = await stack.call<{ pods: PodView[] }>(qry('listPods'), {}, stranger);
    assert.deepEqual(theirs.pods, []);
    assert.equal((await getPod('vault', viewer)).podId, 'vault');
    assert.equal((await stack.refused(cmd('stopPod'), key, viewer)).code, 'forbidden');
    const mine = await stack.call<{ pods: PodView[] }>(qry('listPods'), {}, member);
    assert.ok(mine.pods.length >= 22 && mine.pods.every((p) => p.tenantId === 'acme'));
  });

  test('an update is a new generation; a changed port gets a new host port and the old one is freed', async () => {
    const before = await getPod('vault');
    const updated = await stack.call<PodView>(
      cmd('updatePod'),
      { tenantId: 'acme', podId: 'vault', ports: [{ containerPort: 9090 }], env: { MORE: '1' } },
      member,
    );
    assert.equal(updated.generation, 2);
    assert.equal(updated.ports[0]?.containerPort, 9090);
    assert.notEqual(updated.ports[0]?.hostPort, before.ports[0]?.hostPort);
    assert.equal(updated.spec.env.MORE, '1');
    const held = (await placementsOn(updated.nodeId)).find((p) => p.pod_id === 'vault');
    assert.deepEqual(held?.ports, [{ hostPort: updated.ports[0]?.hostPort, protocol: 'tcp' }]);
    const spec = await stack.call<ContainerSpec>(
      qry('containerSpec'),
      { tenantId: 'acme', podId: 'vault', generation: 2 },
      reconciler,
    );
    assert.match(spec.env.API_KEY ?? '', /^sekrit-/, 'the secret survives the update');
  });

  test('what the agent and the reconciler report shows: running, restarts, Docker’s error', async () => {
    const pod = await getPod('vault');
    const container = (state: ObservedContainer['state']): ObservedContainer => ({
      id: 'c-vault-2',
      name: 'agentpod-acme_vault-g2',
      tenantId: 'acme',
      podId: 'vault',
      generation: pod.generation,
      image: pod.image,
      imageId: 'sha256:abc',
      state,
      pid: state === 'running' ? 4242 : null,
      exitCode: state === 'exited' ? 1 : null,
      oomKilled: false,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      restartCount: 0,
      ports: [],
      health: null,
      volume: null,
      labels: {},
    });
    const node = { node: pod.nodeId };
    const changed = (action: 'die' | 'start', state: ObservedContainer['state']) => ({
      type: 'ContainerChanged',
      data: {
        action,
        containerId: 'c-vault-2',
        tenantId: 'acme',
        podId: 'vault',
        generation: pod.generation,
        exitCode: null,
        container: container(state),
      },
    });
    await stack.append(
      'agent',
      pod.nodeId,
      [{ type: 'InventoryReported', data: { containers: [container('running')] } }],
      node,
    );
    await stack.caughtUp();
    assert.equal((await getPod('vault')).status, 'running');
    await stack.append('agent', pod.nodeId, [changed('die', 'exited')], node);
    await stack.caughtUp();
    assert.equal((await getPod('vault')).status, 'exited');
    await stack.append('agent', pod.nodeId, [changed('start', 'running')], node);
    await stack.caughtUp();
    const healed = await getPod('vault');
    // Restarts count the reconciler's recoveries, not what the container went through.
    assert.deepEqual([healed.status, healed.restarts, healed.containerId], ['running', 0, 'c-vault-2']);
    const target = await stack.call(qry('logTarget'), { tenantId: 'acme', podId: 'vault' }, viewer);
    assert.deepEqual(target, { nodeId: pod.nodeId, containerId: 'c-vault-2' });

    const action = {
      tenantId: 'acme',
      podId: 'vault',
      nodeId: pod.nodeId,
      generation: pod.generation,
      action: 'restart',
    };
    await stack.append('reconciler', podAggregateId('acme', 'vault'), [
      { type: 'PodActionFailed', data: { ...action, error: { code: 'unavailable', message: 'No such image: nope' } } },
    ]);
    await stack.caughtUp();
    assert.deepEqual(
      [(await getPod('vault')).status, (await getPod('vault')).message],
      ['failed', 'No such image: nope'],
    );
    const recovery = { reason: 'crash', attempt: 1 };
    await stack.append('reconciler', podAggregateId('acme', 'vault'), [
      { type: 'PodActionSucceeded', data: { ...action, containerId: 'c-vault-2', recovery } },
    ]);
    await stack.caughtUp();
    assert.deepEqual([(await getPod('vault')).status, (await getPod('vault')).restarts], ['running', 1]);
  });

  test('health: the agent’s latest verdict on the current run of the pod’s container; a restart starts over', async () => {
    const created = await create('probed', { health: { type: 'http', path: '/healthz' } }, { node: 'acme-own' });
    const key = { tenantId: 'acme', podId: 'probed', generation: created.generation };
    const spec = await stack.call<ContainerSpec>(qry('containerSpec'), key, reconciler);
    assert.deepEqual(spec.health, {
      type: 'http',
      path: '/healthz',
      port: 8080,
      intervalSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
      startGraceSeconds: 30,
    });
    const [run1, run2] = ['2026-03-01T12:00:00.000000001Z', '2026-03-01T12:05:00.000000001Z'];
    const container = (state: ObservedContainer['state'], startedAt: string): ObservedContainer => ({
      id: 'c-probed-1',
      name: 'agentpod-acme_probed-g1',
      tenantId: 'acme',
      podId: 'probed',
      generation: created.generation,
      image: created.image,
      imageId: 'sha256:abc',
      state,
      pid: state === 'running' ? 4242 : null,
      exitCode: state === 'exited' ? 1 : null,
      oomKilled: false,
      error: null,
      createdAt: run1,
      startedAt,
      finishedAt: null,
      restartCount: 0,
      ports: [],
      health: null,
      volume: null,
      labels: {},
    });
    const ids = { containerId: 'c-probed-1', tenantId: 'acme', podId: 'probed', generation: created.generation };
    const verdict = (status: 'healthy' | 'unhealthy', startedAt: string) => ({
      type: 'HealthChanged',
      data: { ...ids, startedAt, status, failures: status === 'healthy' ? 0 : 3, lastError: null },
    });
    const changed = (action: 'die' | 'start' | 'destroy', state: ObservedContainer['state'], startedAt: string) => ({
      type: 'ContainerChanged',
      data: { ...ids, action, exitCode: null, container: action === 'destroy' ? null : container(state, startedAt) },
    });
    const healthAfter = async (...events: { type: string; data: unknown }[]) => {
      await stack.append('agent', created.nodeId, events, { node: created.nodeId });
      await stack.caughtUp();
      return (await getPod('probed')).health;
    };
    const inventory = { type: 'InventoryReported', data: { containers: [container('running', run1)] } };
    assert.equal(await healthAfter(inventory), 'starting');
    assert.equal(await healthAfter(verdict('healthy', run1)), 'healthy');
    assert.equal(await healthAfter(inventory), 'healthy', 'an inventory keeps the verdict of a listed container');
    assert.equal(await healthAfter(verdict('unhealthy', run1)), 'unhealthy');
    assert.equal(await healthAfter(changed('die', 'exited', run1)), 'unknown');
    assert.equal(await healthAfter(changed('start', 'running', run2)), 'starting', 'the old run’s verdict is stale');
    assert.equal(await healthAfter(verdict('healthy', run2)), 'healthy');
    const verdicts = () =>
      stack.pods.runtime.db.selectFrom('container_health').selectAll().where('pod_id', '=', 'probed').execute();
    assert.equal((await verdicts()).length, 1);
    await healthAfter(changed('destroy', 'exited', run2));
    assert.deepEqual(await verdicts(), [], 'a destroyed container’s verdict goes with it');
  });

  test('stop, start, restart, token rotation, delete, and a pod created again under the same name', async () => {
    const key = { tenantId: 'acme', podId: 'vault' };
    assert.equal((await stack.call<PodView>(cmd('stopPod'), key, member)).desired, 'stopped');
    assert.equal((await stack.call<PodView>(cmd('startPod'), key, member)).desired, 'running');
    await stack.call<PodView>(cmd('restartPod'), key, member);
    assert.equal((await stack.refused(cmd('rotatePodToken'), key, member)).code, 'forbidden');
    const rotated = await stack.call<{ accessToken: string; generation: number }>(cmd('rotatePodToken'), key, owner);
    assert.equal(rotated.generation, 3);
    assert.equal(
      (await stack.call<{ accessToken: string }>(qry('podToken'), key, owner)).accessToken,
      rotated.accessToken,
    );

    const nodeId = (await getPod('vault')).nodeId;
    const count = async () =>
      (await stack.call<{ count: number }>(qry('countTenantPods'), { tenantId: 'acme' }, { service: 'tenants' })).count;
    const before = await count();
    assert.deepEqual(await stack.call(cmd('deletePod'), { ...key, keepVolume: true }, member), { deleted: true });
    assert.equal((await stack.refused(qry('getPod'), key, member)).code, 'not_found');
    assert.equal(await count(), before - 1);
    assert.ok(!(await placementsOn(nodeId)).some((p) => p.pod_id === 'vault'), 'its ports are free');
    assert.equal((await stack.refused(cmd('deletePod'), key, member)).code, 'not_found');

    const again = await create('vault');
    assert.equal(again.generation, 4, 'generations continue, so no container name is reused');
  });

  test('removing a node revokes it at identity; its pods stay, pending: node removed; its name is free again', async () => {
    const removed = await stack.call<NodeView>(cmd('removeNode'), { node: 'acme-own' }, owner);
    assert.equal(removed.status, 'removed');
    const revoked = stack.identityCalls.find((c) => c.subject === 'revokeNode');
    assert.deepEqual(revoked?.data, { nodeId: nodes.own });
    assert.deepEqual(revoked?.meta.actor, { kind: 'system', id: 'pods' });
    const waiting = await getPod('waiting');
    assert.deepEqual([waiting.status, waiting.message], ['pending', 'node removed']);
    const readded = await stack.call<AddNodeResult>(cmd('addNode'), { name: 'acme-own', tenantId: 'acme' }, owner);
    assert.notEqual(readded.node.id, nodes.own);
    const refusal = await stack.refused(
      cmd('createPod'),
      { tenantId: 'acme', podId: 'late', spec: podSpec(), node: nodes.own },
      member,
    );
    assert.equal(refusal.code, 'conflict');
  });

  test('the read models rebuilt from the log are identical', async () => {
    await stack.caughtUp();
    const report = await stack.pods.runtime.replay({ compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    assert.ok((report.comparison ?? []).some((t) => t.table === 'pods' && t.live > 20));
  });

  test('deleting a tenant’s pods is for the tenants service; afterwards the tenant has none and holds no port', async () => {
    assert.equal((await stack.refused(cmd('deleteTenantPods'), { tenantId: 'acme' }, member)).code, 'forbidden');
    assert.equal(
      (await stack.refused(cmd('deleteTenantPods'), { tenantId: 'acme' }, { service: 'reconciler' })).code,
      'forbidden',
    );
    const { deleted } = await stack.call<{ deleted: number }>(
      cmd('deleteTenantPods'),
      { tenantId: 'acme' },
      { service: 'tenants' },
    );
    assert.ok(deleted >= 23);
    const { count } = await stack.call<{ count: number }>(
      qry('countTenantPods'),
      { tenantId: 'acme' },
      { service: 'tenants' },
    );
    assert.equal(count, 0);
    assert.equal((await placementsOn(nodes.alpha ?? '')).length, 0);
  });

  test('the secrets key was created once, readable by its owner only', async () => {
    const info = await stat(join(stack.stateDir, 'secrets.key'));
    assert.equal(info.mode & 0o777, 0o600);
  });
});
