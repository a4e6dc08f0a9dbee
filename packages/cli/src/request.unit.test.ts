import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { ApiClient } from './client.ts';
import { resolveTarget } from './context.ts';
import { CookieJar } from './cookies.ts';
import { type BuiltRequest, buildRequest, errorFromResponse, joinUrl } from './request.ts';

const BASE = 'http://gw.test:8080';

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, 'invalid');
    return error.message;
  }
  assert.fail('expected an invalid-input error');
}

describe('buildRequest', () => {
  test('substitutes path parameters', () => {
    const request = buildRequest(
      'changeMemberRole',
      { params: { tenant: 'acme', userId: 'usr_aaaaaaaaaaaaaaaaaaaa' }, body: { role: 'admin' } },
      BASE,
    );
    assert.equal(request.method, 'PATCH');
    assert.equal(request.url.href, `${BASE}/api/v1/tenants/acme/members/usr_aaaaaaaaaaaaaaaaaaaa`);
    assert.equal(request.body, '{"role":"admin"}');
  });

  test('keeps a path prefix of the base URL', () => {
    assert.equal(joinUrl('https://host/agentpod/', '/api/v1/me').href, 'https://host/agentpod/api/v1/me');
    assert.equal(buildRequest('whoami', {}, 'https://host/agentpod').url.href, 'https://host/agentpod/api/v1/me');
  });

  test('path-shaped, injection-shaped and homoglyph ids fail before anything is built', () => {
    for (const tenant of ['../x', 'a;rm -rf /', '$(id)', 'аcme', 'ac/me', 'ACME']) {
      assert.match(
        invalid(() => buildRequest('getTenant', { params: { tenant } }, BASE)),
        /^invalid tenant: must be 3-32/,
      );
    }
  });

  test('labels name the field as the command line does', () => {
    assert.equal(
      invalid(() =>
        buildRequest('createToken', { body: { name: 'ci', expiresIn: '30x' } }, BASE, { expiresIn: '--expires' }),
      ),
      'invalid --expires: must be a number followed by m, h or d (e.g. 30d)',
    );
    assert.equal(
      invalid(() => buildRequest('bootstrap', { body: { email: 'nope' } }, BASE, { email: '--email' })),
      'invalid --email: must be an email address',
    );
  });

  test('bodies are sent as the schema outputs them: trimmed, lower-cased, defaults filled', () => {
    const invite = buildRequest(
      'inviteMember',
      { params: { tenant: 'acme' }, body: { email: ' Bob@Example.COM ', role: 'member' } },
      BASE,
    );
    assert.deepEqual(JSON.parse(invite.body ?? ''), { email: 'bob@example.com', role: 'member' });
    const token = buildRequest('createToken', { body: { name: 'ci' } }, BASE);
    assert.deepEqual(JSON.parse(token.body ?? ''), { name: 'ci', role: 'member' });
  });

  test('unknown body fields are refused, as the gateway would', () => {
    assert.match(
      invalid(() => buildRequest('createTenant', { body: { id: 'acme', name: 'Acme', owner: 'me' } as never }, BASE)),
      /^invalid /,
    );
  });

  test('queries carry only what is set, with defaults, and encode their values', () => {
    const audit = buildRequest('audit', { query: { tenant: 'acme', actor: 'usr_a&b=c', limit: '20' } }, BASE);
    assert.equal(audit.url.pathname, '/api/v1/audit');
    assert.deepEqual(Object.fromEntries(audit.url.searchParams), { tenant: 'acme', actor: 'usr_a&b=c', limit: '20' });
    assert.equal(audit.url.search, '?tenant=acme&actor=usr_a%26b%3Dc&limit=20');
    assert.equal(buildRequest('audit', {}, BASE).url.search, '?limit=50');
    assert.equal(
      invalid(() => buildRequest('audit', { query: { limit: '0' } }, BASE, { limit: '--limit' })),
      'invalid --limit: Too small: expected number to be >=1',
    );
    const del = buildRequest('deleteTenant', { params: { tenant: 'acme' }, query: { force: 'true' } }, BASE);
    assert.equal(del.url.search, '?force=true');
    assert.equal(del.body, undefined);
  });

  test('the input type follows the route table', () => {
    const client = new ApiClient({ baseUrl: BASE, fetch: async () => new Response(null, { status: 204 }) });
    // Type-level checks only: these calls are never made.
    const typed = () => {
      // @ts-expect-error getTenant needs params.tenant
      void client.call('getTenant');
      // @ts-expect-error whoami takes no body
      void client.call('whoami', { body: {} });
      // @ts-expect-error a misspelt body field
      void client.call('createTenant', { body: { id: 'a', nmae: 'b' } });
      void client.call('whoami');
      void client.call('getTenant', { params: { tenant: 'acme' } });
    };
    assert.equal(typeof typed, 'function');
  });
});

describe('answers', () => {
  const request: BuiltRequest = { method: 'GET', url: new URL(`${BASE}/api/v1/tenants/acme`), body: undefined };

  test("the gateway's error body becomes the error", async () => {
    const response = Response.json({ error: { code: 'not_found', message: 'no tenant acme' } }, { status: 404 });
    const error = await errorFromResponse(response, request);
    assert.equal(error.code, 'not_found');
    assert.equal(error.message, 'no tenant acme');
  });

  test('a 429 says when to retry', async () => {
    const response = Response.json(
      { error: { code: 'rate_limited', message: 'too many sign-in requests' } },
      { status: 429, headers: { 'retry-after': '42' } },
    );
    assert.equal((await errorFromResponse(response, request)).message, 'too many sign-in requests (retry after 42s)');
  });

  test('an answer without an error body is described by its status', async () => {
    const response = new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    const error = await errorFromResponse(response, request);
    assert.equal(error.code, 'unavailable');
    assert.equal(error.message, 'the gateway answered 502 Bad Gateway to GET /api/v1/tenants/acme');
  });

  test('a route that needs a credential is not sent without one', async () => {
    let calls = 0;
    const client = new ApiClient({
      baseUrl: BASE,
      fetch: async () => {
        calls++;
        return new Response(null, { status: 204 });
      },
    });
    await assert.rejects(
      client.call('listTenants'),
      (error: unknown) => error instanceof AppError && error.code === 'unauthenticated',
    );
    assert.equal(calls, 0);
  });
});

describe('credentials in use', () => {
  const saved = { url: 'https://ap.example', token: 'apt_saved' };
  const env = { url: undefined, token: undefined, stateDir: '/s', credentialsFile: '/c', hostname: 'h' };

  test('the saved credential is used for its own origin', () => {
    assert.deepEqual(resolveTarget(env, saved), { url: 'https://ap.example', token: 'apt_saved', saved });
    assert.equal(resolveTarget({ ...env, url: 'https://ap.example/' }, saved).token, 'apt_saved');
  });

  test('AGENTPOD_TOKEN wins; the saved token never goes to another origin', () => {
    assert.equal(resolveTarget({ ...env, token: 'apt_env' }, saved).token, 'apt_env');
    assert.equal(resolveTarget({ ...env, url: 'https://evil.example' }, saved).token, undefined);
    assert.equal(resolveTarget({ ...env, url: 'http://ap.example' }, saved).token, undefined);
  });

  test('without anything the default URL is used', () => {
    assert.deepEqual(resolveTarget(env, undefined), {
      url: 'http://127.0.0.1:8080',
      token: undefined,
      saved: undefined,
    });
  });

  test('the cookie jar keeps name=value pairs and forgets cleared ones', () => {
    const jar = new CookieJar();
    jar.absorb(['agentpod_session=s1; Path=/; HttpOnly; SameSite=Lax', 'agentpod_csrf=c1; Path=/']);
    assert.equal(jar.hasSession, true);
    assert.equal(jar.get('agentpod_csrf'), 'c1');
    assert.equal(jar.header(), 'agentpod_session=s1; agentpod_csrf=c1');
    jar.absorb(['agentpod_session=; Path=/; Max-Age=0']);
    assert.equal(jar.hasSession, false);
    jar.absorb(['__Host-agentpod_session=s2; Path=/; Secure; Max-Age=0']);
    assert.equal(jar.hasSession, false);
  });
});
