import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError, type EventEnvelope, querySubject, type RequestMeta } from '@agentpod/contracts';
import { EventStore, ensureStreams } from '@agentpod/kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CREDENTIALS, type FakeWorld, startFakeWorld } from './test-support/fake-services.ts';

const ADMIN = { cookie: 'agentpod_session=aps_admin_session_0123456789' };
const MEMBER = { cookie: 'agentpod_session=aps_member_session_012345678' };
const OUTSIDER = { cookie: 'agentpod_session=aps_outsider_session_0123456' };
const VIEWER_TOKEN = 'apt_owner_viewer_token_01234';

describe('GET /api/v1/events: raw events from the log, tenant-scoped for non-admins', () => {
  let world: FakeWorld;
  let store: EventStore;
  const append = async (context: 'tenants' | 'identity', aggregate: string, type: string, tenantId?: string) => {
    const meta: RequestMeta = { actor: { kind: 'system', id: 'test' }, correlationId: 'c1', tenantId };
    const expected = { version: 0, seq: await store.lastSequence(context, aggregate) };
    await store.append(context, aggregate, [{ type, data: { n: type } }], { expected, meta, now: new Date() });
  };

  before(async () => {
    world = await startFakeWorld({ followRecheckMs: 100 });
    const jsm = await jetstreamManager(world.nc);
    await ensureStreams(jsm, ['tenants', 'identity']);
    store = new EventStore(jetstream(world.nc), jsm);
    await append('tenants', 'acme', 'TenantCreated', 'acme');
    await append('identity', 'usr_1', 'UserRegistered');
    await append('tenants', 'other', 'TenantCreated', 'other');
    await append('tenants', 'acme-2', 'MemberAdded', 'acme');
  });
  after(() => world?.close());

  const list = async (headers: Record<string, string>, query = '') => {
    const response = await world.app.inject({ method: 'GET', url: `/api/v1/events${query}`, headers });
    return { status: response.statusCode, body: response.json() as { events: EventEnvelope[] } };
  };
  const types = (events: EventEnvelope[]) => events.map((e) => `${e.aggregateId}:${e.type}`);

  test('a platform admin sees every event, oldest first, across streams', async () => {
    const { status, body } = await list(ADMIN);
    assert.equal(status, 200);
    assert.deepEqual(types(body.events), [
      'acme:TenantCreated',
      'usr_1:UserRegistered',
      'other:TenantCreated',
      'acme-2:MemberAdded',
    ]);
  });

  test('filters: context, aggregate, type, tenant, limit (the last ones)', async () => {
    assert.deepEqual(types((await list(ADMIN, '?context=identity')).body.events), ['usr_1:UserRegistered']);
    assert.deepEqual(types((await list(ADMIN, '?aggregate=other')).body.events), ['other:TenantCreated']);
    assert.deepEqual(types((await list(ADMIN, '?type=MemberAdded')).body.events), ['acme-2:MemberAdded']);
    assert.deepEqual(types((await list(ADMIN, '?tenant=acme')).body.events), [
      'acme:TenantCreated',
      'acme-2:MemberAdded',
    ]);
    assert.deepEqual(types((await list(ADMIN, '?limit=2')).body.events), ['other:TenantCreated', 'acme-2:MemberAdded']);
  });

  test("a member sees only their tenant's events; another tenant is 404", async () => {
    assert.deepEqual(types((await list(MEMBER)).body.events), ['acme:TenantCreated', 'acme-2:MemberAdded']);
    assert.equal((await list(MEMBER, '?tenant=other')).status, 404);
    assert.deepEqual(types((await list(OUTSIDER)).body.events), ['other:TenantCreated']);
    assert.deepEqual(types((await list({ authorization: `Bearer ${VIEWER_TOKEN}` })).body.events), [
      'acme:TenantCreated',
      'acme-2:MemberAdded',
    ]);
  });

  test('follow=true streams NDJSON: the backlog, then new events, until the credential is revoked', async () => {
    const address = await world.app.listen({ host: '127.0.0.1', port: 0 });
    const abort = new AbortController();
    try {
      const response = await fetch(`${address}/api/v1/events?follow=true&tenant=acme`, {
        headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
        signal: abort.signal,
      });
      assert.equal(response.status, 200);
      assert.match(String(response.headers.get('content-type')), /application\/x-ndjson/);
      assert.ok(response.headers.get('x-request-id'));
      const lines = readLines(response);
      const nextLine = async () => {
        const line = await lines.next();
        assert.ok(!line.done, 'the stream ended early');
        return JSON.parse(line.value);
      };
      assert.equal((await nextLine()).type, 'TenantCreated');
      assert.equal((await nextLine()).type, 'MemberAdded');
      await append('tenants', 'other', 'TenantRenamed', 'other');
      await append('tenants', 'acme', 'TenantRenamed', 'acme');
      const next = await nextLine();
      assert.deepEqual([next.aggregateId, next.type], ['acme', 'TenantRenamed']);
      // The token is revoked: the next re-check ends the stream with an error line.
      await world.answer(querySubject('identity', 'authenticate'), () => {
        throw new AppError('unauthenticated', 'revoked');
      });
      const last = await nextLine();
      assert.equal(last.error.code, 'unauthenticated');
      assert.equal((await lines.next()).done, true);
    } finally {
      abort.abort();
      await world.answer(querySubject('identity', 'authenticate'), (data) => {
        const principal = CREDENTIALS[(data as { credential: string }).credential];
        if (!principal) throw new AppError('unauthenticated', 'unknown credential');
        return principal;
      });
    }
  });

  test('closing the gateway ends a followed stream instead of waiting for it forever', async () => {
    const app = world.gateway({});
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${address}/api/v1/events?follow=true&context=identity`, { headers: ADMIN });
    const lines = readLines(response);
    assert.equal(JSON.parse(String((await lines.next()).value)).type, 'UserRegistered');
    await app.close();
    assert.equal((await lines.next()).done, true);
  });
});

async function* readLines(response: Response): AsyncGenerator<string, void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
}
