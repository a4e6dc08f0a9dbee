import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CSRF_HEADER } from '@agentpod/contracts';
import type { InjectOptions } from 'fastify';
import { csrfTokenFor } from './auth/cookies.ts';
import { type FakeWorld, startFakeWorld } from './test-support/fake-services.ts';

const ADMIN = 'aps_admin_session_0123456789';
/** A platform admin's session, with CSRF: whatever is refused here is refused for its shape alone. */
const admin = { cookie: `agentpod_session=${ADMIN}`, [CSRF_HEADER]: csrfTokenFor(ADMIN) };

const INJECTIONS = ['../x', 'a;rm -rf /', '$(id)', '`id`', 'acme\u0000', '\u0430cme', 'ac\u200bme', 'x'.repeat(10_240)];

describe('input validation: refused with 400 and a clear message before anything reaches NATS', () => {
  let world: FakeWorld;
  before(async () => {
    world = await startFakeWorld({ bodyLimit: 64 * 1024 });
  });
  after(() => world?.close());

  const expectInvalid = async (
    request: InjectOptions,
    status = 400,
    message?: RegExp,
  ): Promise<Record<string, unknown>> => {
    const before = world.received.length;
    const response = await world.app.inject(request);
    assert.equal(response.statusCode, status, response.body.slice(0, 300));
    const body = response.json();
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'invalid');
    if (message) assert.match(body.error.message, message);
    assert.ok(response.headers['x-request-id']);
    assert.equal(world.received.length, before, 'an invalid request must not reach NATS');
    return body.error;
  };

  test('malformed JSON: 400 saying so, not a framework error shape', async () => {
    for (const payload of ['{"id": "acme",', '{"id": "acme"}}', "{'id': 'acme'}", 'null x']) {
      await expectInvalid(
        { method: 'POST', url: '/api/v1/tenants', headers: { ...admin, 'content-type': 'application/json' }, payload },
        400,
        /not valid JSON/,
      );
    }
  });

  test('prototype-poisoning JSON is refused', async () => {
    await expectInvalid({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"id":"acme","name":"A","__proto__":{"platformAdmin":true}}',
    });
  });

  test('a body over the limit: 413 in the same shape', async () => {
    await expectInvalid(
      { method: 'POST', url: '/api/v1/tenants', headers: admin, payload: { id: 'acme', name: 'x'.repeat(70_000) } },
      413,
      /larger than 65536 bytes/,
    );
  });

  test('a body that is not JSON: 415 (what a cross-site form could send is never parsed)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      await expectInvalid(
        { method: 'POST', url: '/api/v1/tenants', headers: { ...admin, 'content-type': type }, payload: 'id=acme' },
        415,
        /must be JSON/,
      );
    }
  });

  test('unknown fields in a body or a query are refused, naming the field', async () => {
    const error = await expectInvalid({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: admin,
      payload: { id: 'acme', name: 'Acme', owner: 'usr_x' },
    });
    assert.match(JSON.stringify(error.details), /owner|Unrecognized/);
    await expectInvalid({ method: 'GET', url: '/api/v1/audit?tenant=acme&sql=1', headers: admin }, 400, /query/);
    await expectInvalid({ method: 'GET', url: '/api/v1/tenants?x=1', headers: admin }, 400, /query/);
  });

  test('missing or wrongly typed fields, repeated query keys, and a body where none is taken', async () => {
    await expectInvalid({ method: 'POST', url: '/api/v1/tenants', headers: admin }, 400, /needs a JSON body/);
    await expectInvalid({ method: 'POST', url: '/api/v1/tenants', headers: admin, payload: { id: 'acme' } });
    await expectInvalid({ method: 'POST', url: '/api/v1/tenants', headers: admin, payload: [1, 2] });
    await expectInvalid({ method: 'GET', url: '/api/v1/audit?limit=5&limit=6', headers: admin }, 400, /more than once/);
    await expectInvalid({ method: 'GET', url: '/api/v1/audit?limit=100000', headers: admin });
    await expectInvalid({ method: 'POST', url: '/api/v1/auth/logout', headers: admin, payload: { all: true } });
  });

  test('injection-shaped tenant ids are refused in bodies and in paths', async () => {
    for (const id of INJECTIONS) {
      await expectInvalid(
        { method: 'POST', url: '/api/v1/tenants', headers: admin, payload: { id, name: 'Acme' } },
        400,
        /id: must be 3-32 lower-case letters/,
      );
      await expectInvalid(
        { method: 'GET', url: `/api/v1/tenants/${encodeURIComponent(id)}/members`, headers: admin },
        400,
        /path parameter/,
      );
    }
  });

  test('injection-shaped values in other fields: emails, names, ids, types', async () => {
    for (const value of INJECTIONS) {
      await expectInvalid({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: value } });
      await expectInvalid({
        method: 'PATCH',
        url: `/api/v1/tenants/acme/members/${encodeURIComponent(value)}`,
        headers: admin,
        payload: { role: 'member' },
      });
      await expectInvalid({
        method: 'GET',
        url: `/api/v1/events?aggregate=${encodeURIComponent(value)}`,
        headers: admin,
      });
      await expectInvalid({ method: 'GET', url: `/api/v1/audit?type=${encodeURIComponent(value)}`, headers: admin });
    }
    await expectInvalid({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: admin,
      payload: { id: 'acme', name: 'x'.repeat(10_240) },
    });
    await expectInvalid({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: admin,
      payload: { id: 'acme', name: 'a\u202eb' },
    });
    await expectInvalid({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: admin,
      payload: { name: 'cli', role: 'superuser' },
    });
    await expectInvalid({ method: 'POST', url: '/api/v1/auth/redeem', payload: { token: 'x'.repeat(10_240) } });
  });

  test('a bad percent-encoding in the URL is 400 in the same shape', async () => {
    await expectInvalid({ method: 'GET', url: '/api/v1/tenants/%E0%A4%A', headers: admin }, 400, /not valid/);
  });

  test('an unknown route is 404 in the same shape, with a request id', async () => {
    const response = await world.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'not_found');
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});
