import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RouteName, routes } from '@agentpod/contracts';
import { type FakeWorld, startFakeWorld } from './test-support/fake-services.ts';

const magicLink = (app: FakeWorld['app'], remoteAddress: string, forwardedFor?: string) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/auth/magic-link',
    remoteAddress,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    payload: { email: 'someone@example.com' },
  });

describe('the edge: rate limits, client addresses, headers, pages, OpenAPI', () => {
  let world: FakeWorld;
  before(async () => {
    world = await startFakeWorld({
      rateLimits: { magicLink: { max: 2, windowMs: 60_000 }, redeem: { max: 2, windowMs: 60_000 } },
    });
  });
  after(() => world?.close());

  test('per-address limit on link requests: 429 with Retry-After, in the one error shape', async () => {
    const app = world.gateway({});
    assert.equal((await magicLink(app, '192.0.2.1')).statusCode, 202);
    assert.equal((await magicLink(app, '192.0.2.1')).statusCode, 202);
    const limited = await magicLink(app, '192.0.2.1');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
    assert.ok(limited.headers['x-request-id']);
    assert.equal((await magicLink(app, '192.0.2.2')).statusCode, 202, 'another address has its own budget');
  });

  test('redemptions are limited per address too', async () => {
    const app = world.gateway({});
    const redeem = () =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/redeem',
        remoteAddress: '192.0.2.9',
        payload: { token: 'apl_0123456789abcdefghij' },
      });
    await redeem();
    await redeem();
    const limited = await redeem();
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });

  test('X-Forwarded-For from an untrusted peer is ignored: a new header value buys no new budget', async () => {
    const app = world.gateway({ trustedProxies: ['10.0.0.1'] });
    assert.equal((await magicLink(app, '198.51.100.7', '203.0.113.1')).statusCode, 202);
    assert.equal((await magicLink(app, '198.51.100.7', '203.0.113.2')).statusCode, 202);
    assert.equal((await magicLink(app, '198.51.100.7', '203.0.113.3')).statusCode, 429);
  });

  test('X-Forwarded-For from a trusted proxy names the client', async () => {
    const app = world.gateway({ trustedProxies: ['10.0.0.0/8'] });
    for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) {
      assert.equal((await magicLink(app, '10.1.2.3', client)).statusCode, 202, client);
    }
    await magicLink(app, '10.1.2.3', '203.0.113.5');
    await magicLink(app, '10.1.2.3', '203.0.113.5');
    assert.equal((await magicLink(app, '10.1.2.3', '203.0.113.5')).statusCode, 429);
  });

  test('every response carries a fresh request id and security headers; a client id is not trusted', async () => {
    const ids = new Set<string>();
    for (const url of ['/api/v1/openapi.json', '/api/v1/me', '/nothing', '/auth/callback']) {
      const response = await world.app.inject({ method: 'GET', url, headers: { 'x-request-id': 'chosen-by-client' } });
      const id = String(response.headers['x-request-id']);
      assert.match(id, /^[0-9a-f-]{36}$/, url);
      ids.add(id);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/, url);
      assert.doesNotMatch(String(response.headers['content-security-policy']), /upgrade-insecure-requests/);
    }
    assert.equal(ids.size, 4);
  });

  test('the link pages have no inline script, keep the token out of the request, and load a same-origin script', async () => {
    for (const url of ['/auth/callback', '/invitations/accept']) {
      const page = await world.app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.body, /<script src="\/pages\/link\.js" defer><\/script>/);
      assert.doesNotMatch(page.body, /<script>/);
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    }
    const script = await world.app.inject({ method: 'GET', url: '/pages/link.js' });
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.match(script.body, /location\.hash/);
    assert.match(script.body, /history\.replaceState/);
    assert.match(script.body, /x-agentpod-csrf/);
  });

  test('the OpenAPI 3.1 document lists every route of the table with its schemas and security', async () => {
    const response = await world.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(response.statusCode, 200);
    const document = response.json();
    assert.equal(document.openapi, '3.1.0');
    const operations = new Map<string, { path: string; method: string; op: Record<string, unknown> }>();
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const operation = op as { operationId: string };
        operations.set(operation.operationId, { path, method, op: op as Record<string, unknown> });
      }
    }
    assert.deepEqual([...operations.keys()].sort(), Object.keys(routes).sort());
    for (const name of Object.keys(routes) as RouteName[]) {
      const route = routes[name];
      const found = operations.get(name);
      assert.ok(found);
      assert.equal(found.path, route.path.replace(/:(\w+)/g, '{$1}'));
      assert.equal(found.method, route.method.toLowerCase());
      assert.deepEqual(
        found.op.security,
        route.access === 'public' ? [] : [{ sessionCookie: [], csrfHeader: [] }, { bearerToken: [] }],
      );
      if ('body' in route) assert.ok(found.op.requestBody, `${name} documents its body`);
    }
    const create = operations.get('createTenant')?.op as {
      requestBody: {
        content: {
          'application/json': { schema: { properties: Record<string, unknown>; additionalProperties: boolean } };
        };
      };
    };
    const schema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), ['id', 'name']);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), [
      'bearerToken',
      'csrfHeader',
      'sessionCookie',
    ]);
  });
});
