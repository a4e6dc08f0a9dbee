import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AppError, CSRF_HEADER, commandSubject, PodSpec, querySubject } from '@agentpod/contracts';
import type { InjectOptions } from 'fastify';
import { csrfTokenFor } from './auth/cookies.ts';
import { type FakeWorld, type Received, startFakeWorld, USERS } from './test-support/fake-services.ts';
import { addNodeResult, NODE_ID, nodeView, podView } from './test-support/pod-fixtures.ts';

/*
 * The node and pod routes against a stand-in pods service on real NATS: each route sends its command or query
 * with the caller's principal, answers what the service answers (checked against the route table), and refuses
 * bad or escalating input before anything reaches the pods service.
 */

const withCsrf = (session: string) => ({ cookie: `agentpod_session=${session}`, [CSRF_HEADER]: csrfTokenFor(session) });
const ADMIN = withCsrf('aps_admin_session_0123456789');
const OWNER = withCsrf('aps_owner_session_0123456789');
const MEMBER = withCsrf('aps_member_session_012345678');
const VIEWER = withCsrf('aps_viewer_session_012345678');
const OUTSIDER = withCsrf('aps_outsider_session_0123456');
const VIEWER_TOKEN = { authorization: 'Bearer apt_owner_viewer_token_01234' };

const POD = '/api/v1/tenants/acme/pods/web';
const createBody = { podId: 'web', spec: { image: 'nginx:1.27', ports: [{ containerPort: 8080 }] } };

describe('node and pod routes (stand-in pods service on real NATS)', () => {
  let world: FakeWorld;
  let answer: unknown;
  const toPods = () => world.received.filter((r) => r.subject.startsWith('pods.'));
  const last = (): Received | undefined => toPods().at(-1);

  before(async () => {
    world = await startFakeWorld();
    const commands = ['createPod', 'updatePod', 'deletePod', 'stopPod', 'startPod', 'restartPod', 'rotatePodToken'];
    const queries = ['listPods', 'getPod', 'podToken', 'listNodes', 'getNode'];
    for (const name of [...commands, 'addNode', 'removeNode', 'issueJoinToken']) {
      await world.answer(commandSubject('pods', name), () => answer);
    }
    for (const name of queries) await world.answer(querySubject('pods', name), () => answer);
  });
  after(() => world?.close());
  beforeEach(() => {
    world.received.length = 0;
  });

  const send = async (request: InjectOptions, reply: unknown) => {
    answer = reply;
    return world.app.inject(request);
  };

  test('each pod route sends its command or query with the ids from the path and the caller as principal', async () => {
    const created = { ...podView, accessToken: `apa_${'t'.repeat(43)}` };
    const cases: { request: InjectOptions; reply: unknown; subject: string; data: unknown; status: number }[] = [
      {
        request: { method: 'GET', url: '/api/v1/pods?tenant=acme', headers: MEMBER },
        reply: { pods: [podView] },
        subject: 'pods.qry.listPods',
        data: { tenantId: 'acme' },
        status: 200,
      },
      {
        request: { method: 'GET', url: '/api/v1/pods', headers: MEMBER },
        reply: { pods: [podView] },
        subject: 'pods.qry.listPods',
        data: {},
        status: 200,
      },
      {
        request: { method: 'GET', url: '/api/v1/tenants/acme/pods', headers: VIEWER },
        reply: { pods: [] },
        subject: 'pods.qry.listPods',
        data: { tenantId: 'acme' },
        status: 200,
      },
      {
        request: { method: 'POST', url: '/api/v1/tenants/acme/pods', headers: MEMBER, payload: createBody },
        reply: created,
        subject: 'pods.cmd.createPod',
        data: { tenantId: 'acme', podId: 'web', spec: PodSpec.parse(createBody.spec), secrets: {} },
        status: 201,
      },
      {
        request: { method: 'GET', url: POD, headers: VIEWER },
        reply: podView,
        subject: 'pods.qry.getPod',
        data: { tenantId: 'acme', podId: 'web' },
        status: 200,
      },
      {
        request: { method: 'PATCH', url: POD, headers: MEMBER, payload: { image: 'nginx:1.28', unsetEnv: ['DEBUG'] } },
        reply: podView,
        subject: 'pods.cmd.updatePod',
        data: { tenantId: 'acme', podId: 'web', image: 'nginx:1.28', unsetEnv: ['DEBUG'] },
        status: 200,
      },
      {
        request: { method: 'DELETE', url: `${POD}?keepVolume=true`, headers: MEMBER },
        reply: { deleted: true },
        subject: 'pods.cmd.deletePod',
        data: { tenantId: 'acme', podId: 'web', keepVolume: true },
        status: 204,
      },
      {
        request: { method: 'DELETE', url: POD, headers: MEMBER },
        reply: { deleted: true },
        subject: 'pods.cmd.deletePod',
        data: { tenantId: 'acme', podId: 'web', keepVolume: false },
        status: 204,
      },
      ...(['stop', 'start', 'restart'] as const).map((verb) => ({
        request: { method: 'POST' as const, url: `${POD}/${verb}`, headers: MEMBER },
        reply: podView,
        subject: `pods.cmd.${verb}Pod`,
        data: { tenantId: 'acme', podId: 'web' },
        status: 200,
      })),
      {
        request: { method: 'GET', url: `${POD}/token`, headers: OWNER },
        reply: { accessToken: 'apa_x' },
        subject: 'pods.qry.podToken',
        data: { tenantId: 'acme', podId: 'web' },
        status: 200,
      },
      {
        request: { method: 'POST', url: `${POD}/token/rotate`, headers: OWNER },
        reply: { accessToken: 'apa_y', generation: 3 },
        subject: 'pods.cmd.rotatePodToken',
        data: { tenantId: 'acme', podId: 'web' },
        status: 200,
      },
    ];
    for (const { request, reply, subject, data, status } of cases) {
      const before = toPods().length;
      const response = await send(request, reply);
      const label = `${request.method} ${request.url}`;
      assert.equal(response.statusCode, status, `${label}: ${response.body}`);
      if (status !== 204) assert.deepEqual(response.json(), reply, label);
      assert.equal(toPods().length, before + 1, label);
      const received = last();
      assert.equal(received?.subject, subject, label);
      assert.deepEqual(received?.data, data, label);
      assert.ok(received?.meta.principal, `${label}: the principal travels with the request`);
    }
    const create = toPods().find((r) => r.subject === 'pods.cmd.createPod');
    assert.equal(create?.meta.tenantId, 'acme');
    assert.equal(create?.meta.principal?.userId, USERS.member);
  });

  test('each node route sends its command or query; a tenant node carries the tenant from the path', async () => {
    const cases: { request: InjectOptions; reply: unknown; subject: string; data: unknown; status: number }[] = [
      {
        request: { method: 'GET', url: '/api/v1/nodes', headers: VIEWER },
        reply: { nodes: [nodeView] },
        subject: 'pods.qry.listNodes',
        data: {},
        status: 200,
      },
      {
        request: { method: 'POST', url: '/api/v1/nodes', headers: ADMIN, payload: { name: 'edge-1' } },
        reply: addNodeResult,
        subject: 'pods.cmd.addNode',
        data: { name: 'edge-1' },
        status: 201,
      },
      {
        request: { method: 'POST', url: '/api/v1/tenants/acme/nodes', headers: OWNER, payload: { name: 'own-box' } },
        reply: addNodeResult,
        subject: 'pods.cmd.addNode',
        data: { name: 'own-box', tenantId: 'acme' },
        status: 201,
      },
      {
        request: { method: 'GET', url: `/api/v1/nodes/${NODE_ID}`, headers: ADMIN },
        reply: nodeView,
        subject: 'pods.qry.getNode',
        data: { node: NODE_ID },
        status: 200,
      },
      {
        request: { method: 'DELETE', url: '/api/v1/nodes/edge-1', headers: ADMIN },
        reply: { ...nodeView, status: 'removed' },
        subject: 'pods.cmd.removeNode',
        data: { node: 'edge-1' },
        status: 200,
      },
      {
        request: { method: 'POST', url: '/api/v1/nodes/edge-1/join-token', headers: ADMIN },
        reply: addNodeResult,
        subject: 'pods.cmd.issueJoinToken',
        data: { node: 'edge-1' },
        status: 201,
      },
    ];
    for (const { request, reply, subject, data, status } of cases) {
      const response = await send(request, reply);
      const label = `${request.method} ${request.url}`;
      assert.equal(response.statusCode, status, `${label}: ${response.body}`);
      assert.deepEqual(response.json(), reply, label);
      assert.equal(last()?.subject, subject, label);
      assert.deepEqual(last()?.data, data, label);
    }
  });

  test("the gateway's rule: refused callers reach nothing", async () => {
    const refused: [InjectOptions, number][] = [
      [{ method: 'POST', url: '/api/v1/tenants/acme/pods', headers: VIEWER, payload: createBody }, 403],
      [{ method: 'POST', url: '/api/v1/tenants/acme/pods', headers: VIEWER_TOKEN, payload: createBody }, 403],
      [{ method: 'POST', url: '/api/v1/tenants/acme/pods', headers: OUTSIDER, payload: createBody }, 404],
      [{ method: 'POST', url: '/api/v1/tenants/acme/pods', payload: createBody }, 401],
      [{ method: 'GET', url: POD, headers: OUTSIDER }, 404],
      [{ method: 'GET', url: `${POD}/token`, headers: MEMBER }, 403],
      [{ method: 'POST', url: `${POD}/token/rotate`, headers: MEMBER }, 403],
      [{ method: 'DELETE', url: POD, headers: VIEWER }, 403],
      [{ method: 'POST', url: '/api/v1/nodes', headers: OWNER, payload: { name: 'edge-2' } }, 403],
      [{ method: 'POST', url: '/api/v1/tenants/acme/nodes', headers: MEMBER, payload: { name: 'own-box' } }, 403],
      [{ method: 'DELETE', url: '/api/v1/nodes/edge-1', headers: VIEWER_TOKEN }, 403],
      [{ method: 'GET', url: '/api/v1/nodes' }, 401],
    ];
    for (const [request, status] of refused) {
      const response = await send(request, podView);
      assert.equal(response.statusCode, status, `${request.method} ${request.url}: ${response.body}`);
    }
    assert.deepEqual(toPods(), []);
  });

  test('escalations in a create or update body: 400 naming the refusal, nothing reaches the pods service', async () => {
    const spec = createBody.spec;
    const escalating: [string, object][] = [
      ['privileged', { ...createBody, spec: { ...spec, privileged: true } }],
      ['network mode', { ...createBody, spec: { ...spec, networkMode: 'host' } }],
      ['devices', { ...createBody, spec: { ...spec, devices: ['/dev/sda:/dev/sda'] } }],
      ['capAdd', { ...createBody, spec: { ...spec, capAdd: ['SYS_ADMIN'] } }],
      ['binds', { ...createBody, spec: { ...spec, binds: ['/:/host'] } }],
      ['docker socket volume', { ...createBody, spec: { ...spec, volume: { mountPath: '/var/run/docker.sock' } } }],
      ['top-level privileged', { ...createBody, privileged: true }],
    ];
    for (const [what, payload] of escalating) {
      const response = await send({ method: 'POST', url: '/api/v1/tenants/acme/pods', headers: ADMIN, payload }, {});
      assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
      assert.match(response.json().error.message, /refused: /, what);
    }
    // A field the policy does not name (Kubernetes' spelling) is still no field of the strict schema.
    const hostNetwork = await send(
      {
        method: 'POST',
        url: '/api/v1/tenants/acme/pods',
        headers: ADMIN,
        payload: { ...createBody, spec: { ...spec, hostNetwork: true } },
      },
      {},
    );
    assert.equal(hostNetwork.statusCode, 400);
    assert.match(hostNetwork.json().error.message, /Unrecognized key: "hostNetwork"/);
    const updates: [string, object][] = [
      ['privileged', { privileged: true }],
      ['capAdd', { image: 'nginx:1.28', capAdd: ['NET_ADMIN'] }],
      ['pid mode', { pidMode: 'host' }],
      ['docker socket in cmd', { cmd: ['cat', '/var/run/docker.sock'] }],
      ['mounts', { mounts: [{ type: 'bind', source: '/etc', target: '/etc' }] }],
    ];
    for (const [what, payload] of updates) {
      const response = await send({ method: 'PATCH', url: POD, headers: ADMIN, payload }, {});
      assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
      assert.match(response.json().error.message, /refused: /, what);
    }
    // Unknown fields that escalate nothing are refused by the strict schema all the same.
    const unknown = await send({ method: 'PATCH', url: POD, headers: ADMIN, payload: { tenantId: 'other' } }, {});
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(toPods(), []);
  });

  test('other invalid input: bad ids, bad queries, a bad node reference', async () => {
    const invalid: InjectOptions[] = [
      { method: 'GET', url: '/api/v1/tenants/acme/pods/Web', headers: ADMIN },
      { method: 'GET', url: `${POD}/logs?tail=-1`, headers: ADMIN },
      { method: 'GET', url: `${POD}/logs?follow=yes`, headers: ADMIN },
      { method: 'DELETE', url: `${POD}?keepVolume=1`, headers: ADMIN },
      { method: 'GET', url: '/api/v1/pods?tenant=$(id)', headers: ADMIN },
      { method: 'GET', url: '/api/v1/nodes/..%2Fx', headers: ADMIN },
      { method: 'POST', url: '/api/v1/nodes', headers: ADMIN, payload: { name: 'Edge 1' } },
      { method: 'POST', url: '/api/v1/tenants/acme/pods', headers: ADMIN, payload: { ...createBody, tenantId: 'x' } },
      {
        method: 'POST',
        url: '/api/v1/tenants/acme/pods',
        headers: ADMIN,
        payload: { podId: 'web', spec: { image: 'nginx; rm -rf /' } },
      },
    ];
    for (const request of invalid) {
      const response = await send(request, podView);
      assert.equal(response.statusCode, 400, `${request.method} ${request.url}: ${response.body}`);
    }
    assert.deepEqual(toPods(), []);
  });

  test("the service's errors pass through; a reply that breaks the contract is a 500", async () => {
    await world.answer(commandSubject('pods', 'createPod'), () => {
      throw new AppError('conflict', 'no node has room for 256 MiB');
    });
    const full = await world.app.inject({
      method: 'POST',
      url: '/api/v1/tenants/acme/pods',
      headers: ADMIN,
      payload: createBody,
    });
    assert.equal(full.statusCode, 409);
    assert.deepEqual(full.json(), { error: { code: 'conflict', message: 'no node has room for 256 MiB' } });
    await world.answer(commandSubject('pods', 'createPod'), () => answer);

    const broken = await send({ method: 'GET', url: POD, headers: ADMIN }, { ...podView, status: 'bogus' });
    assert.equal(broken.statusCode, 500);
    assert.equal(broken.json().error.code, 'internal');
  });
});
