import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type FakeGateway, runCli, startFakeGateway } from './test/fake-gateway.ts';
import { ADMIN_ID, adminUser, me, TOKEN_ID, tokenPrincipal } from './test/fixtures.ts';

/*
 * Signing in and out, driven as a user would: the CLI runs as a child process against a real HTTP server that
 * stands in for the gateway and records what it was sent.
 */

describe('agentpod login, whoami, logout, admin bootstrap', () => {
  let gateway: FakeGateway;
  let other: FakeGateway;
  let home: string;
  let env: Record<string, string>;
  const credentials = () => join(home, 'config', 'agentpod', 'credentials.json');

  before(async () => {
    gateway = await startFakeGateway();
    other = await startFakeGateway();
    home = await mkdtemp(join(tmpdir(), 'agentpod-cli-'));
    env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), AGENTPOD_STATE_DIR: join(home, 'state') };
  });
  after(async () => {
    await gateway?.close();
    await other?.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(async () => {
    gateway.reset();
    other.reset();
    await rm(credentials(), { force: true });
  });

  const acceptToken = (token: string) => {
    gateway.on('GET /api/v1/me', (request) =>
      request.headers.authorization === `Bearer ${token}`
        ? { status: 200, body: me }
        : { status: 401, body: { error: { code: 'unauthenticated', message: 'invalid or expired credential' } } },
    );
  };

  test('login --token checks the token, then saves it with mode 0600 for later commands', async () => {
    acceptToken('apt_good');
    const login = await runCli(['login', '--url', gateway.url, '--token', 'apt_good'], { env });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /signed in to http:\/\/127\.0\.0\.1:\d+ as admin@example\.com/);
    assert.equal((await stat(credentials())).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, 'config', 'agentpod'))).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(await readFile(credentials(), 'utf8')), { url: gateway.url, token: 'apt_good' });

    const whoami = await runCli(['whoami'], { env });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal(gateway.requests.at(-1)?.headers.authorization, 'Bearer apt_good');
    assert.match(whoami.stdout, /^email +admin@example\.com$/m);
    assert.match(whoami.stdout, /^platform admin +yes$/m);
    assert.match(whoami.stdout, /^TENANT +ROLE\nacme +owner\nglobex +viewer\n$/m);

    // Nothing was created by the CLI, so logout revokes nothing: it only forgets.
    const logout = await runCli(['logout', '--json'], { env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.deepEqual(JSON.parse(logout.stdout), { signedOut: true, url: gateway.url, revokedTokenId: null });
    assert.equal(gateway.requests.filter((r) => r.method === 'DELETE').length, 0);
    await assert.rejects(stat(credentials()));
  });

  test('a refused token is not saved; the error is one line and exit code 3', async () => {
    acceptToken('apt_good');
    const login = await runCli(['login', '--url', gateway.url], { env, stdin: 'apt_bad\n' });
    assert.equal(login.code, 3);
    assert.equal(login.stdout, '');
    assert.equal(login.stderr, `API token for ${gateway.url}: agentpod: invalid or expired credential\n`);
    await assert.rejects(stat(credentials()));
  });

  test('login --email redeems the pasted link, trades the session for a token, ends the session', async () => {
    gateway.on('POST /api/v1/auth/magic-link', () => ({ status: 202, body: {} }));
    gateway.on('POST /api/v1/auth/redeem', () => ({
      status: 200,
      body: { user: adminUser, expiresAt: '2025-02-01T00:00:00.000Z' },
      headers: { 'set-cookie': ['agentpod_session=aps_session; Path=/; HttpOnly; SameSite=Lax'] },
    }));
    gateway.on('GET /api/v1/me', () => ({
      status: 200,
      body: { ...me, principal: { ...tokenPrincipal, via: 'session', sessionId: 's' } },
      headers: { 'set-cookie': ['agentpod_csrf=csrf123; Path=/; SameSite=Lax'] },
    }));
    gateway.on('POST /api/v1/tokens', (request) => ({
      status: 201,
      body: {
        token: 'apt_fresh',
        view: {
          id: TOKEN_ID,
          name: (request.body as { name: string }).name,
          role: 'admin',
          tenantId: null,
          userId: ADMIN_ID,
          createdAt: '2025-01-01T00:00:00.000Z',
          expiresAt: null,
          revoked: false,
        },
      },
    }));
    gateway.on('POST /api/v1/auth/logout', () => ({ status: 204 }));

    const link = 'http://127.0.0.1:8080/auth/callback#token=apl_0123456789abcdefghijklmnop';
    const login = await runCli(['login', '--url', gateway.url, '--email', 'Admin@Example.com', '--json'], {
      env,
      stdin: `${link}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /A sign-in link was sent to Admin@Example\.com/);
    assert.equal(JSON.parse(login.stdout).tokenId, TOKEN_ID);

    const [ask, redeem, , create, signOut] = gateway.requests;
    assert.deepEqual(ask?.body, { email: 'admin@example.com' });
    assert.deepEqual(redeem?.body, { token: 'apl_0123456789abcdefghijklmnop' });
    assert.equal(create?.path, '/api/v1/tokens');
    const body = create?.body as { name?: string; role?: string } | undefined;
    assert.match(String(body?.name), /^cli-/);
    assert.equal(body?.role, 'owner');
    assert.equal(create?.headers.cookie, 'agentpod_session=aps_session; agentpod_csrf=csrf123');
    assert.equal(create?.headers['x-agentpod-csrf'], 'csrf123');
    assert.equal(create?.headers.authorization, undefined);
    assert.equal(signOut?.path, '/api/v1/auth/logout');
    assert.equal(signOut?.headers['x-agentpod-csrf'], 'csrf123');
    assert.deepEqual(JSON.parse(await readFile(credentials(), 'utf8')), {
      url: gateway.url,
      token: 'apt_fresh',
      tokenId: TOKEN_ID,
    });

    // The token is the CLI's own, so logout revokes it with itself.
    gateway.reset();
    gateway.on(`DELETE /api/v1/tokens/${TOKEN_ID}`, () => ({ status: 204 }));
    const logout = await runCli(['logout'], { env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(logout.stdout, `signed out of ${gateway.url} (token ${TOKEN_ID} revoked)\n`);
    assert.equal(gateway.requests[0]?.headers.authorization, 'Bearer apt_fresh');
    await assert.rejects(stat(credentials()));
  });

  test('a saved token is never sent to another gateway named by AGENTPOD_URL', async () => {
    acceptToken('apt_good');
    assert.equal((await runCli(['login', '--url', gateway.url, '--token', 'apt_good'], { env })).code, 0);
    other.on('GET /api/v1/me', () => ({ status: 200, body: me }));
    const result = await runCli(['whoami'], { env: { ...env, AGENTPOD_URL: other.url } });
    assert.equal(result.code, 3);
    assert.equal(result.stderr, `agentpod: not signed in to ${other.url}: run agentpod login or set AGENTPOD_TOKEN\n`);
    assert.equal(other.requests.length, 0);
  });

  test('AGENTPOD_URL and AGENTPOD_TOKEN drive the CLI with nothing saved', async () => {
    acceptToken('apt_env');
    const result = await runCli(['whoami', '--json'], {
      env: { ...env, AGENTPOD_URL: gateway.url, AGENTPOD_TOKEN: 'apt_env' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.deepEqual(JSON.parse(result.stdout), { url: gateway.url, ...me });
  });

  test('admin bootstrap posts the secret from the state directory and prints link and token once', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(env.AGENTPOD_STATE_DIR ?? '', { recursive: true, mode: 0o700 });
    await writeFile(join(env.AGENTPOD_STATE_DIR ?? '', 'bootstrap-secret'), 'secret-from-host\n', { mode: 0o600 });
    gateway.on('POST /api/v1/admin/bootstrap', (request) =>
      request.headers['x-agentpod-bootstrap'] === 'secret-from-host'
        ? {
            status: 201,
            body: {
              user: adminUser,
              signInLink: 'http://127.0.0.1:8080/auth/callback#token=apl_link',
              token: 'apt_boot',
              tokenId: TOKEN_ID,
            },
          }
        : { status: 401, body: { error: { code: 'unauthenticated', message: 'wrong bootstrap secret' } } },
    );
    const result = await runCli(['admin', 'bootstrap', '--email', 'admin@example.com', '--save'], {
      env: { ...env, AGENTPOD_URL: gateway.url },
    });
    assert.equal(result.code, 0, result.stderr);
    const [request] = gateway.requests;
    assert.deepEqual(request?.body, { email: 'admin@example.com' });
    assert.equal(request?.headers.authorization, undefined);
    assert.match(result.stdout, /^sign-in link +http:\/\/127\.0\.0\.1:8080\/auth\/callback#token=apl_link$/m);
    assert.match(result.stdout, /^API token +apt_boot$/m);
    // Saved without tokenId: the user saw this token, so logout will not revoke it.
    assert.deepEqual(JSON.parse(await readFile(credentials(), 'utf8')), { url: gateway.url, token: 'apt_boot' });
  });

  test('admin bootstrap without the secret file explains where it looked', async () => {
    const result = await runCli(['admin', 'bootstrap', '--email', 'a@example.com'], {
      env: { ...env, AGENTPOD_URL: gateway.url, AGENTPOD_STATE_DIR: join(home, 'nowhere') },
    });
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      /^agentpod: cannot read the bootstrap secret at .*nowhere\/bootstrap-secret \(ENOENT\)/,
    );
    assert.equal(gateway.requests.length, 0);
  });

  test('an unreachable gateway is named, with exit code 1', async () => {
    const closed = await startFakeGateway();
    await closed.close();
    const result = await runCli(['tenant', 'list'], { env: { ...env, AGENTPOD_URL: closed.url, AGENTPOD_TOKEN: 't' } });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `agentpod: cannot reach the gateway at ${closed.url}: ECONNREFUSED\n`);
  });
});
