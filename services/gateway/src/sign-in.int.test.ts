import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError, BOOTSTRAP_HEADER, CSRF_HEADER, commandSubject } from '@agentpod/contracts';
import { csrfTokenFor } from './auth/cookies.ts';
import { type FakeWorld, startFakeWorld, USERS } from './test-support/fake-services.ts';

const SESSION = 'aps_new_session_token_0123456789';
const user = {
  id: USERS.owner,
  email: 'owner@example.com',
  platformAdmin: false,
  disabled: false,
  createdAt: '2025-01-01T00:00:00.000Z',
};
const expiresAt = '2030-01-01T00:00:00.000Z';

describe('sign-in, sign-out and bootstrap through the gateway', () => {
  let world: FakeWorld;
  before(async () => {
    world = await startFakeWorld({ bootstrapSecret: 'the-secret-from-the-state-dir' });
    await world.answer(commandSubject('identity', 'redeemMagicLink'), () => ({
      sessionToken: SESSION,
      sessionId: 'ses_1',
      expiresAt,
      user,
    }));
    await world.answer(commandSubject('identity', 'signOut'), () => ({}));
    await world.answer(commandSubject('identity', 'bootstrapAdmin'), () => ({
      user: { ...user, platformAdmin: true },
      signInLink: 'http://127.0.0.1:8080/auth/callback#token=apl_x',
      token: 'apt_secret',
      tokenId: 'tok_00000000000000000000',
    }));
  });
  after(() => world?.close());

  test('a link request is 202 {} and the local-mode link goes to the console, never the response', async () => {
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/auth/magic-link',
      payload: { email: 'Someone@Example.com' },
    });
    assert.equal(response.statusCode, 202);
    assert.equal(response.body, '{}');
    assert.equal(world.notices.length, 1);
    assert.deepEqual(world.notices[0], {
      kind: 'sign-in',
      email: 'someone@example.com',
      link: 'http://127.0.0.1:8080/auth/callback#token=apl_local_link_token_0123456789',
    });
    const call = world.received.findLast((r) => r.subject === commandSubject('identity', 'requestMagicLink'));
    assert.deepEqual(call?.data, { email: 'someone@example.com' });
  });

  test('identity’s per-email limit becomes 429 with Retry-After', async () => {
    await world.answer(commandSubject('identity', 'requestMagicLink'), () => {
      throw new AppError('rate_limited', 'too many links for this address', { details: { retryAfterSeconds: 42 } });
    });
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/auth/magic-link',
      payload: { email: 'someone@example.com' },
    });
    assert.equal(response.statusCode, 429);
    assert.equal(response.headers['retry-after'], '42');
    assert.equal(response.json().error.code, 'rate_limited');
    await world.answer(commandSubject('identity', 'requestMagicLink'), () => ({}));
  });

  test('redeeming sets an HttpOnly SameSite=Lax session cookie and a readable CSRF cookie', async () => {
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/auth/redeem',
      payload: { token: 'apl_link_token_0123456789abcdef' },
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { user, expiresAt });
    const session = response.cookies.find((c) => c.name === 'agentpod_session');
    const csrf = response.cookies.find((c) => c.name === 'agentpod_csrf');
    assert.equal(session?.value, SESSION);
    assert.equal(session?.httpOnly, true);
    assert.equal(session?.sameSite, 'Lax');
    assert.equal(session?.path, '/');
    assert.equal(session?.secure, undefined, 'over http the cookie cannot be Secure');
    assert.equal(csrf?.value, csrfTokenFor(SESSION));
    assert.equal(csrf?.httpOnly, undefined);
    assert.ok(!response.body.includes(SESSION), 'the session token is only in the cookie');
  });

  test('signing in again ends the session the browser held before (rotation)', async () => {
    const old = 'aps_old_session_token_0123456789';
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/auth/redeem',
      headers: { cookie: `agentpod_session=${old}` },
      payload: { token: 'apl_link_token_0123456789abcdef' },
    });
    assert.equal(response.statusCode, 200);
    const call = world.received.findLast((r) => r.subject === commandSubject('identity', 'signOut'));
    assert.deepEqual(call?.data, { sessionToken: old });
    assert.equal(response.cookies.find((c) => c.name === 'agentpod_session')?.value, SESSION);
  });

  test('over https the session cookie is __Host- prefixed and Secure, and HSTS is on', async () => {
    const app = world.gateway({ publicUrl: 'https://agentpod.example.com' });
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/redeem',
      payload: { token: 'apl_link_token_0123456789abcdef' },
    });
    const session = response.cookies.find((c) => c.name === '__Host-agentpod_session');
    assert.equal(session?.secure, true);
    assert.equal(session?.path, '/');
    assert.equal(session?.domain, undefined);
    assert.match(String(response.headers['strict-transport-security']), /max-age=31536000/);
  });

  test('signing out ends the session and clears both cookies', async () => {
    await world.answer(commandSubject('identity', 'signOut'), () => ({}));
    const session = 'aps_owner_session_0123456789';
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { cookie: `agentpod_session=${session}`, [CSRF_HEADER]: csrfTokenFor(session) },
    });
    assert.equal(response.statusCode, 204);
    const call = world.received.findLast((r) => r.subject === commandSubject('identity', 'signOut'));
    assert.deepEqual(call?.data, { sessionToken: session });
    for (const name of ['agentpod_session', 'agentpod_csrf']) {
      assert.equal(response.cookies.find((c) => c.name === name)?.value, '', name);
    }
  });

  test('bootstrap needs the secret from the state directory', async () => {
    const post = (headers: Record<string, string>) =>
      world.app.inject({ method: 'POST', url: '/api/v1/admin/bootstrap', headers, payload: { email: 'a@b.co' } });
    const before = world.received.length;
    assert.equal((await post({})).statusCode, 401);
    assert.equal((await post({ [BOOTSTRAP_HEADER]: 'the-secret-from-the-state-dix' })).statusCode, 401);
    assert.equal((await post({ [BOOTSTRAP_HEADER]: 'short' })).statusCode, 401);
    assert.equal(world.received.length, before);
    const created = await post({ [BOOTSTRAP_HEADER]: 'the-secret-from-the-state-dir' });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().token, 'apt_secret');
  });

  test('service errors map to their statuses; internal errors carry the request id', async () => {
    const subject = commandSubject('identity', 'redeemMagicLink');
    const redeem = () =>
      world.app.inject({ method: 'POST', url: '/api/v1/auth/redeem', payload: { token: 'apl_0123456789abcdefghij' } });
    const cases: [AppError['code'], number][] = [
      ['unauthenticated', 401],
      ['conflict', 409],
      ['timeout', 504],
    ];
    for (const [code, status] of cases) {
      await world.answer(subject, () => {
        throw new AppError(code, `the ${code} case`);
      });
      const response = await redeem();
      assert.equal(response.statusCode, status, code);
      assert.deepEqual(response.json(), { error: { code, message: `the ${code} case` } });
    }
    await world.answer(subject, () => {
      throw new Error('a bug with a secret stack');
    });
    const internal = await redeem();
    assert.equal(internal.statusCode, 500);
    assert.equal(internal.json().error.code, 'internal');
    assert.equal(internal.json().error.correlationId, internal.headers['x-request-id']);
    assert.ok(!internal.body.includes('secret stack'));
    // A reply that breaks the route's response schema is the gateway's 500, not a leak of whatever came back.
    await world.answer(subject, () => ({ sessionToken: SESSION, sessionId: 's', expiresAt, user: { id: 'x' } }));
    const broken = await redeem();
    assert.equal(broken.statusCode, 500);
    assert.equal(broken.json().error.correlationId, broken.headers['x-request-id']);
  });

  test('a service nobody serves is 503 unavailable', async () => {
    const admin = 'aps_admin_session_0123456789';
    const response = await world.app.inject({
      method: 'POST',
      url: '/api/v1/admin/replay',
      headers: { cookie: `agentpod_session=${admin}`, [CSRF_HEADER]: csrfTokenFor(admin) },
      payload: { service: 'pods', swap: false },
    });
    assert.equal(response.statusCode, 503);
    assert.match(response.json().error.message, /pods\.cmd\.replay/);
  });
});
