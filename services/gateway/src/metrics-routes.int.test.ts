import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AppError, querySubject, type RequestMeta, type Series, type TopRow } from '@agentpod/contracts';
import { type FakeWorld, startFakeWorld, USERS } from './test-support/fake-services.ts';
import { NODE_ID, nodeView, podView } from './test-support/pod-fixtures.ts';

/*
 * The metrics routes against stand-in pods and monitor services on real NATS: the gateway asks pods, with the
 * caller's principal, where the pod runs or who owns the node, so another tenant's pod or node is a 404 before the
 * monitor hears of it; `top` keeps a pod's rows only from the node the pod is placed on.
 */

const VIEWER = { cookie: 'agentpod_session=aps_viewer_session_012345678' };
const OUTSIDER = { cookie: 'agentpod_session=aps_outsider_session_0123456' };
const ADMIN = { cookie: 'agentpod_session=aps_admin_session_0123456789' };
const OTHER_NODE = `nod_${'b2'.repeat(12)}`;

const series = (target: Series['target'], range: Series['range']): Series => ({
  target,
  range,
  resolution: 'raw',
  stepSeconds: 10,
  from: '2025-01-02T02:04:05.000Z',
  to: '2025-01-02T03:04:05.000Z',
  points: [],
});

const topRow = (kind: TopRow['kind'], nodeId: string, pod?: { tenantId: string; podId: string }): TopRow => ({
  kind,
  nodeId,
  tenantId: pod?.tenantId ?? null,
  podId: pod?.podId ?? null,
  at: '2025-01-02T03:04:05.000Z',
  cpuPercent: 12.5,
  memoryBytes: 1_000_000,
  memoryLimitBytes: null,
  netRxBytesPerSec: 1,
  netTxBytesPerSec: 2,
});

/** Pods' own rule, as the stand-in applies it: acme's members see acme's pod and node; nobody else does. */
const readsAcme = (meta: RequestMeta) =>
  meta.principal !== undefined &&
  [USERS.viewer, USERS.owner, USERS.member, USERS.admin].includes(meta.principal.userId as never);

describe('metrics routes: pod and node series, top', () => {
  let world: FakeWorld;
  const monitorCalls = () => world.received.filter((r) => r.subject.startsWith('monitor.'));

  before(async () => {
    world = await startFakeWorld();
    await world.answer(querySubject('pods', 'getPod'), (_data, meta) => {
      if (!readsAcme(meta)) throw new AppError('not_found', 'no such pod');
      return podView;
    });
    await world.answer(querySubject('pods', 'getNode'), (_data, meta) => {
      if (!readsAcme(meta)) throw new AppError('not_found', 'no such node');
      return { ...nodeView, tenantId: 'acme' };
    });
    await world.answer(querySubject('pods', 'listPods'), () => ({ pods: [podView] }));
    await world.answer(querySubject('monitor', 'podSeries'), (data) => {
      const { tenantId, podId, range } = data as { tenantId: string; podId: string; range: Series['range'] };
      return series({ kind: 'pod', tenantId, podId }, range);
    });
    await world.answer(querySubject('monitor', 'nodeSeries'), (data) => {
      const { nodeId, range } = data as { nodeId: string; range: Series['range'] };
      return series({ kind: 'node', nodeId }, range);
    });
    await world.answer(querySubject('monitor', 'top'), () => ({
      rows: [
        topRow('node', NODE_ID),
        topRow('pod', NODE_ID, { tenantId: 'acme', podId: 'web' }),
        // Another node's container labelled as acme/web, and a pod the pods service no longer has.
        topRow('pod', OTHER_NODE, { tenantId: 'acme', podId: 'web' }),
        topRow('pod', NODE_ID, { tenantId: 'acme', podId: 'gone' }),
      ],
    }));
  });
  after(() => world?.close());
  beforeEach(() => {
    world.received.length = 0;
  });

  test('a pod series: the monitor is asked for the node the pod is placed on, as the caller', async () => {
    const response = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/web/metrics?range=24h',
      headers: VIEWER,
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().range, '24h');
    const [call] = monitorCalls();
    assert.deepEqual(call?.data, { tenantId: 'acme', podId: 'web', nodeId: NODE_ID, range: '24h' });
    assert.equal(call?.meta.principal?.userId, USERS.viewer);
    const defaulted = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/web/metrics',
      headers: VIEWER,
    });
    assert.equal(defaulted.json().range, '1h');
  });

  test("another tenant's pod is a 404 and the monitor is never asked; a bad range is a 400", async () => {
    const outsider = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/web/metrics',
      headers: OUTSIDER,
    });
    assert.equal(outsider.statusCode, 404);
    const bad = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/pods/web/metrics?range=2h',
      headers: VIEWER,
    });
    assert.equal(bad.statusCode, 400);
    const anonymous = await world.app.inject({ method: 'GET', url: '/api/v1/tenants/acme/pods/web/metrics' });
    assert.equal(anonymous.statusCode, 401);
    assert.deepEqual(monitorCalls(), []);
  });

  test("a node series names the node's owner to the monitor; a node the caller cannot see is a 404", async () => {
    const response = await world.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/edge-1/metrics?range=7d',
      headers: VIEWER,
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(monitorCalls()[0]?.data, { nodeId: NODE_ID, range: '7d', tenantId: 'acme' });
    world.received.length = 0;
    const outsider = await world.app.inject({ method: 'GET', url: '/api/v1/nodes/edge-1/metrics', headers: OUTSIDER });
    assert.equal(outsider.statusCode, 404);
    assert.deepEqual(monitorCalls(), []);
  });

  test("top keeps a pod's rows only from the node it is placed on", async () => {
    const response = await world.app.inject({ method: 'GET', url: '/api/v1/top', headers: ADMIN });
    assert.equal(response.statusCode, 200, response.body);
    const rows = response.json().rows as TopRow[];
    assert.deepEqual(
      rows.map((r) => `${r.kind}:${r.tenantId}/${r.podId}@${r.nodeId}`),
      [`node:null/null@${NODE_ID}`, `pod:acme/web@${NODE_ID}`],
    );
    world.received.length = 0;
    await world.app.inject({ method: 'GET', url: '/api/v1/top?tenant=acme', headers: VIEWER });
    assert.deepEqual(
      world.received.filter((r) => r.subject.endsWith('.top') || r.subject.endsWith('.listPods')).map((r) => r.data),
      [{ tenantId: 'acme' }, { tenantId: 'acme' }],
    );
  });
});
