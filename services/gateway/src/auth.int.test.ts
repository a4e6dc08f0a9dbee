import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CSRF_HEADER, commandSubject, querySubject } from '@agentpod/contracts';
import { csrfTokenFor } from './auth/cookies.ts';
import { CREDENTIALS, type FakeWorld, startFakeWorld, USERS } from './test-support/fake-services.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const cookie = (session: string) => ({ cookie: `agentpod_session=${session}` });
const withCsrf = (session: string) => ({ ...cookie(session), [CSRF_HEADER]: csrfTokenFor(session) });

const OWNER = 'aps_owner_session_0123456789';
const MEMBER = 'aps_member_session_012345678';
const VIEWER = 'aps_viewer_session_012345678';
const OUTSIDER = 'aps_outsider_session_0123456';
const ADMIN = 'aps_admin_session_0123456789';
const VIEWER_TOKEN = 'apt_owner_viewer_token_01234';
const MEMBER_TOKEN = 'apt_owner_member_token_01234';

describe('gateway authentication and access rules (fake identity and tenants on real NATS)', () => {
  let world: FakeWorld;
  before(async () => {
    world = await startFakeWorld();
    await world.answer(querySubject('tenants', 'getTenant'), (data) => ({
      id: (data as { tenantId: string }).tenantId,
      name: 'Acme',
      status: 'active',
      createdAt: '2025-01-01T00:00:00.000Z',
      memberCount: 3,
    }));
    await world.answer(commandSubject('tenants', 'renameTenant'), (data) => ({
      id: (data as { tenantId: string }).tenantId,
      name: (data as { name: string }).name,
      status: 'active',
      createdAt: '2025-01-01T00:00:00.000Z',
      memberCount: 3,
    }));
  });
  after(() => world?.close());

  const getTenant = (headers: Record<string, string>) =>
    world.app.inject({ method: 'GET', url: '/api/v1/tenants/acme', headers });
  const rename = (headers: Record<string, string>) =>
    world.app.inject({ method: 'PATCH', url: '/api/v1/tenants/acme', headers, payload: { name: 'Acme Ltd' } });

  test('no credentials: 401 in the one error shape, and nothing asked of NATS', async () => {
    const before = world.received.length;
    const response = await world.app.inject({ method: 'GET', url: '/api/v1/me' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().error.code, 'unauthenticated');
    assert.equal(world.received.length, before);
  });

  test('a malformed Authorization header or cookie is 401 without a NATS round trip', async () => {
    const before = world.received.length;
    for (const headers of [
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer aps_owner_session_0123456789' },
      { authorization: 'Bearer apt_$(id)' },
      { cookie: 'agentpod_session=../../etc/passwd' },
    ]) {
      const response = await world.app.inject({ method: 'GET', url: '/api/v1/me', headers });
      assert.equal(response.statusCode, 401, JSON.stringify(headers));
      assert.equal(response.json().error.code, 'unauthenticated');
    }
    assert.equal(world.received.length, before);
  });

  test('an unknown token is 401; a rejected session cookie is cleared', async () => {
    assert.equal((await getTenant(bearer('apt_unknown_token_0123456789'))).statusCode, 401);
    const response = await getTenant(cookie('aps_revoked_session_01234567'));
    assert.equal(response.statusCode, 401);
    const cleared = response.cookies.find((c) => c.name === 'agentpod_session');
    assert.equal(cleared?.value, '');
  });

  test('whoami: the principal and its memberships, capped for a token', async () => {
    const owner = await world.app.inject({ method: 'GET', url: '/api/v1/me', headers: cookie(OWNER) });
    assert.equal(owner.statusCode, 200);
    assert.deepEqual(owner.json().memberships, [{ tenantId: 'acme', role: 'owner' }]);
    assert.equal(owner.json().principal.userId, USERS.owner);
    // The console's load renews the cookies (identity's session slides; the cookie must not expire first).
    const renewed = owner.cookies.find((c) => c.name === 'agentpod_session');
    assert.equal(renewed?.value, OWNER);
    assert.ok(renewed?.expires && renewed.expires.getTime() > Date.now() + 29 * 86_400_000);
    assert.equal(owner.cookies.find((c) => c.name === 'agentpod_csrf')?.value, csrfTokenFor(OWNER));
    const token = await world.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(VIEWER_TOKEN) });
    assert.deepEqual(token.json().memberships, [{ tenantId: 'acme', role: 'viewer' }]);
  });

  test('tenant routes: members read; another tenant, or none, is 404; too low a role is 403', async () => {
    assert.equal((await getTenant(cookie(VIEWER))).statusCode, 200);
    assert.equal((await getTenant(cookie(ADMIN))).statusCode, 200);
    const outsider = await getTenant(cookie(OUTSIDER));
    assert.equal(outsider.statusCode, 404);
    assert.equal(outsider.json().error.code, 'not_found');
    const missing = await world.app.inject({ method: 'GET', url: '/api/v1/tenants/nowhere', headers: cookie(OWNER) });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(
      outsider.json().error.message.replace('acme', 'X'),
      missing.json().error.message.replace('nowhere', 'X'),
    );
    const member = await rename(withCsrf(MEMBER));
    assert.equal(member.statusCode, 403);
    assert.equal(member.json().error.code, 'forbidden');
    assert.equal((await rename(withCsrf(OWNER))).statusCode, 200);
  });

  test('a viewer-capped token changes nothing, even on routes open to any signed-in caller', async () => {
    const rejected = await rename(bearer(VIEWER_TOKEN));
    assert.equal(rejected.statusCode, 403);
    const token = await world.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: bearer(VIEWER_TOKEN),
      payload: { name: 'escalate', role: 'admin' },
    });
    assert.equal(token.statusCode, 403);
    assert.match(token.json().error.message, /read-only/);
    assert.equal((await getTenant(bearer(VIEWER_TOKEN))).statusCode, 200);
  });

  test('a token is capped at its role: a member token of an owner cannot rename', async () => {
    assert.equal((await rename(bearer(MEMBER_TOKEN))).statusCode, 403);
  });

  test('the owning service gets the principal, actor, tenant and the request id as correlation id', async () => {
    const response = await rename(withCsrf(OWNER));
    const call = world.received.findLast((r) => r.subject === commandSubject('tenants', 'renameTenant'));
    assert.ok(call);
    assert.deepEqual(call.data, { tenantId: 'acme', name: 'Acme Ltd' });
    assert.equal(call.meta.correlationId, response.headers['x-request-id']);
    assert.equal(call.meta.tenantId, 'acme');
    assert.deepEqual(call.meta.actor, { kind: 'user', id: USERS.owner });
    assert.deepEqual(call.meta.principal, CREDENTIALS[OWNER]);
    await rename(bearer(MEMBER_TOKEN));
    const tokenCall = world.received.findLast((r) => r.subject === querySubject('tenants', 'membership'));
    assert.deepEqual(tokenCall?.meta.actor, {
      kind: 'token',
      id: 'tok_ownermember000000000000',
      onBehalfOf: 'usr_owner0000000000000000000',
    });
  });

  test('CSRF: a cookie-authenticated change needs the header that echoes the CSRF cookie', async () => {
    const before = world.received.length;
    const none = await rename(cookie(OWNER));
    assert.equal(none.statusCode, 403);
    assert.match(none.json().error.message, /x-agentpod-csrf/);
    const wrong = await rename({ ...cookie(OWNER), [CSRF_HEADER]: csrfTokenFor(MEMBER) });
    assert.equal(wrong.statusCode, 403);
    assert.equal(world.received.length, before, 'a CSRF failure costs no NATS request');
    assert.equal((await rename(withCsrf(OWNER))).statusCode, 200);
    // A GET needs no header; a bearer token needs none either (a browser never adds one cross-site).
    assert.equal((await getTenant(cookie(OWNER))).statusCode, 200);
  });

  test('platform-admin routes: 403 for everyone else, including an admin-role but scoped token', async () => {
    await world.answer(querySubject('identity', 'listUsers'), () => ({ users: [] }));
    const list = (headers: Record<string, string>) =>
      world.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers });
    assert.equal((await list(cookie(ADMIN))).statusCode, 200);
    assert.equal((await list(cookie(OWNER))).statusCode, 403);
    assert.equal((await list({})).statusCode, 401);
  });
});
