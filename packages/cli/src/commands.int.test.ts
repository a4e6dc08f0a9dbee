import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { runCli, useFakeGateway } from './test/fake-gateway.ts';
import { acme, BOB_ID, event, members, TOKEN_ID, tokenView } from './test/fixtures.ts';

/*
 * The tenant, member, token, audit, events and replay commands against a stand-in gateway: what is sent (method,
 * path, query, body, headers), what is printed, and the exit code.
 */

describe('agentpod commands against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('tenant create sends the validated body with the bearer token', async () => {
    suite.gateway.on('POST /api/v1/tenants', () => ({ status: 201, body: acme }));
    const result = await cli('tenant', 'create', 'acme', '--name', '  Acme Corp ');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'created tenant acme (Acme Corp)\n');
    const [request] = suite.gateway.requests;
    assert.deepEqual(request?.body, { id: 'acme', name: 'Acme Corp' });
    assert.equal(request?.headers.authorization, 'Bearer apt_test');
    assert.equal(request?.headers['content-type'], 'application/json');
  });

  test('a bad argument fails locally: exit 2, one line, nothing sent', async () => {
    for (const args of [
      ['tenant', 'create', '../x', '--name', 'X'],
      ['tenant', 'status', '$(id)'],
      ['token', 'create', '--name', 'ci', '--expires', '30x'],
      ['tenant', 'member', 'add', 'acme', 'not-an-email', '--role', 'member'],
      ['tenant', 'member', 'add', 'acme', 'a@example.com', '--role', 'emperor'],
      ['audit', '--limit', '9999'],
      ['events', '--context', 'nowhere'],
    ]) {
      const result = await cli(...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^agentpod: invalid [^\n]+\n$/, args.join(' '));
    }
    assert.equal(suite.gateway.requests.length, 0);
    const expires = await cli('token', 'create', '--name', 'ci', '--expires', '30x');
    assert.equal(expires.stderr, 'agentpod: invalid --expires: must be a number followed by m, h or d (e.g. 30d)\n');
  });

  test("the gateway's errors: one line on stderr, or the JSON error on stdout; exit code per class", async () => {
    suite.gateway.on('GET /api/v1/tenants/globex', () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'tenant globex not found' } },
    }));
    const human = await cli('tenant', 'status', 'globex');
    assert.deepEqual(human, { code: 4, stdout: '', stderr: 'agentpod: tenant globex not found\n' });
    const json = await cli('tenant', 'status', 'globex', '--json');
    assert.equal(json.code, 4);
    assert.equal(json.stderr, '');
    assert.deepEqual(JSON.parse(json.stdout), { error: { code: 'not_found', message: 'tenant globex not found' } });

    suite.gateway.on('PATCH /api/v1/tenants/acme', () => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'a viewer token cannot change anything' } },
    }));
    assert.equal((await cli('tenant', 'rename', 'acme', '--name', 'New')).code, 4);
    suite.gateway.on('POST /api/v1/tenants', () => ({
      status: 409,
      body: { error: { code: 'conflict', message: 'tenant acme already exists' } },
    }));
    const conflict = await cli('tenant', 'create', 'acme', '--name', 'Acme');
    assert.deepEqual(conflict, { code: 1, stdout: '', stderr: 'agentpod: tenant acme already exists\n' });
    suite.gateway.on('GET /api/v1/tenants', () => ({
      status: 429,
      headers: { 'retry-after': '7' },
      body: { error: { code: 'rate_limited', message: 'slow down' } },
    }));
    assert.deepEqual(await cli('tenant', 'list'), {
      code: 1,
      stdout: '',
      stderr: 'agentpod: slow down (retry after 7s)\n',
    });
  });

  test('tenant list prints an aligned table; --json prints the answer and nothing else', async () => {
    const { role: _none, ...unrelated } = acme;
    const globex = { ...unrelated, id: 'globex', name: 'Globex', memberCount: 12 };
    suite.gateway.on('GET /api/v1/tenants', () => ({ status: 200, body: { tenants: [acme, globex] } }));
    const human = await cli('tenant', 'list');
    assert.equal(human.code, 0, human.stderr);
    assert.equal(
      human.stdout,
      'ID      NAME       STATUS  MEMBERS  ROLE   CREATED\n' +
        'acme    Acme Corp  active  2        owner  2025-01-02T03:04:05Z\n' +
        'globex  Globex     active  12       -      2025-01-02T03:04:05Z\n',
    );
    const json = await cli('--json', 'tenant', 'list');
    assert.equal(json.stderr, '');
    assert.deepEqual(JSON.parse(json.stdout), { tenants: [acme, globex] });
  });

  test('tenant delete asks for --yes off a terminal, and sends force as a query', async () => {
    const refused = await runCli(['tenant', 'delete', 'acme'], { env: suite.env, stdin: 'acme\n' });
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, 'agentpod: not deleting tenant acme: confirm on a terminal, or pass --yes\n');
    assert.equal(suite.gateway.requests.length, 0);

    suite.gateway.on('DELETE /api/v1/tenants/acme', () => ({ status: 204 }));
    const deleted = await cli('tenant', 'delete', 'acme', '--force', '--yes', '--json');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(deleted.stdout), { tenant: 'acme', deleted: true });
    assert.deepEqual(suite.gateway.requests[0]?.query, { force: 'true' });
    assert.equal(suite.gateway.requests[0]?.body, undefined);
  });

  test('tenant member role and remove accept an email and send the user id', async () => {
    suite.gateway.on('GET /api/v1/tenants/acme/members', () => ({ status: 200, body: { members } }));
    suite.gateway.on(`PATCH /api/v1/tenants/acme/members/${BOB_ID}`, (request) => ({
      status: 200,
      body: { ...members[1], role: (request.body as { role: string }).role },
    }));
    suite.gateway.on(`DELETE /api/v1/tenants/acme/members/${BOB_ID}`, () => ({ status: 204 }));
    const role = await cli('tenant', 'member', 'role', 'acme', 'Bob@Example.com', 'admin');
    assert.equal(role.code, 0, role.stderr);
    assert.equal(role.stdout, 'bob@example.com is now admin in acme\n');
    assert.deepEqual(suite.gateway.requests.at(-1)?.body, { role: 'admin' });

    const remove = await cli('tenant', 'member', 'remove', 'acme', BOB_ID);
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal(suite.gateway.requests.at(-1)?.method, 'DELETE');

    const stranger = await cli('tenant', 'member', 'remove', 'acme', 'eve@example.com');
    assert.deepEqual(stranger, {
      code: 4,
      stdout: '',
      stderr: 'agentpod: eve@example.com is not a member of tenant acme\n',
    });
  });

  test('tenant member add invites with a lower-cased email and the role', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/members', () => ({
      status: 201,
      body: {
        id: 'inv_000000000000000000001',
        email: 'carol@example.com',
        role: 'viewer',
        createdAt: '2025-01-01T00:00:00.000Z',
        expiresAt: '2025-01-08T00:00:00.000Z',
        status: 'pending',
      },
    }));
    const result = await cli('tenant', 'member', 'add', 'acme', 'Carol@Example.com', '--role', 'viewer');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { email: 'carol@example.com', role: 'viewer' });
    assert.match(result.stdout, /^invited carol@example\.com to acme as viewer \(invitation inv_0+1, expires/);
  });

  test('token create prints the secret once; list and revoke', async () => {
    suite.gateway.on('POST /api/v1/tokens', () => ({ status: 201, body: { token: 'apt_secret', view: tokenView } }));
    const created = await cli(
      'token',
      'create',
      '--name',
      'ci',
      '--tenant',
      'acme',
      '--role',
      'viewer',
      '--expires',
      '30d',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { name: 'ci', tenant: 'acme', role: 'viewer', expiresIn: '30d' });
    assert.match(created.stdout, /^token +apt_secret$/m);

    suite.gateway.on('GET /api/v1/tokens', () => ({
      status: 200,
      body: { tokens: [{ ...tokenView, revoked: true }] },
    }));
    const list = await cli('token', 'list');
    assert.match(list.stdout, new RegExp(`^${TOKEN_ID}  ci +viewer +acme +revoked `, 'm'));

    suite.gateway.on(`DELETE /api/v1/tokens/${TOKEN_ID}`, () => ({ status: 204 }));
    const revoked = await cli('token', 'revoke', TOKEN_ID);
    assert.deepEqual(revoked, { code: 0, stdout: `revoked token ${TOKEN_ID}\n`, stderr: '' });
  });

  test('audit passes its filters as the query and shows the next-page cursor', async () => {
    suite.gateway.on('GET /api/v1/audit', () => ({
      status: 200,
      body: {
        entries: [{ ...event(2), eventId: event(2).id, context: 'tenants' }],
        next: 'cursor-2',
      },
    }));
    const result = await cli('audit', '--tenant', 'acme', '--type', 'TenantRenamed', '--limit', '1');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, { tenant: 'acme', type: 'TenantRenamed', limit: '1' });
    assert.match(result.stdout, /^TIME +TYPE +TENANT +ACTOR +AGGREGATE$/m);
    assert.match(result.stdout, /^2025-01-02T03:04:02Z +TenantRenamed +acme +user:usr_admin0+ +acme$/m);
    assert.match(result.stdout, /\(more: repeat with --before cursor-2\)/);
  });

  test('events prints one line per event, NDJSON with --json', async () => {
    suite.gateway.on('GET /api/v1/events', () => ({ status: 200, body: { events: [event(1), event(2)] } }));
    const human = await cli('events', '--tenant', 'acme', '--aggregate', 'acme');
    assert.equal(human.code, 0, human.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, {
      tenant: 'acme',
      aggregate: 'acme',
      follow: 'false',
      limit: '100',
    });
    assert.deepEqual(
      human.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ {2,}/).slice(0, 3)),
      [
        ['2025-01-02T03:04:01Z', 'TenantRenamed', 'acme'],
        ['2025-01-02T03:04:02Z', 'TenantRenamed', 'acme'],
      ],
    );
    const json = await cli('events', '--json');
    assert.deepEqual(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [event(1), event(2)],
    );
  });

  test('events --follow prints each event as it arrives, until the stream ends', async () => {
    let release: (() => void) | undefined;
    suite.gateway.on('GET /api/v1/events', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify(event(1))}\n`);
      release = () => {
        response.write('\n'); // a keep-alive line is skipped
        response.end(`${JSON.stringify(event(2))}\n`);
      };
    });
    let releasedAfter = '';
    const result = await runCli(['events', '--follow', '--json'], {
      env: suite.env,
      // The second event is only sent once the first has been printed: proof that lines are not buffered.
      onStdout: (soFar) => {
        if (release && releasedAfter === '') {
          releasedAfter = soFar;
          release();
        }
      },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(releasedAfter), event(1));
    assert.deepEqual(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [event(1), event(2)],
    );
    assert.equal(suite.gateway.requests[0]?.query.follow, 'true');
  });

  test('events --follow stops cleanly on Ctrl-C, exit code 0', async () => {
    let held: ServerResponse | undefined;
    suite.gateway.on('GET /api/v1/events', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify(event(1))}\n`);
      held = response; // never ended by the server
    });
    const result = await runCli(['events', '-f'], { env: suite.env, interruptWhen: (soFar) => soFar.includes('\n') });
    held?.end();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^2025-01-02T03:04:01Z +TenantRenamed +acme +v1 +tenant=acme/);
  });

  test('admin replay reports per service and exits 1 when a rebuilt read model differs', async () => {
    suite.gateway.on('POST /api/v1/admin/replay', () => ({
      status: 200,
      body: {
        reports: [
          { service: 'identity', events: 120, durationMs: 850, identical: true, swapped: true },
          { service: 'tenants', events: 42, durationMs: 1234, identical: false, swapped: true },
        ],
      },
    }));
    const result = await cli('admin', 'replay', '--all');
    assert.equal(result.code, 1);
    assert.deepEqual(suite.gateway.requests[0]?.body, { service: 'all', swap: true });
    assert.equal(
      result.stdout,
      'SERVICE   EVENTS  DURATION  IDENTICAL  SWAPPED\n' +
        'identity  120     850ms     yes        yes\n' +
        'tenants   42      1.23s     no         yes\n',
    );
    const one = await cli('admin', 'replay', 'pods', '--no-swap', '--json');
    assert.deepEqual(suite.gateway.requests.at(-1)?.body, { service: 'pods', swap: false });
    assert.equal(JSON.parse(one.stdout).reports.length, 2);
    assert.equal((await cli('admin', 'replay')).code, 2);
    assert.equal((await cli('admin', 'replay', 'pods', '--all')).code, 2);
  });

  test('status reads /healthz and exits 1 when degraded', async () => {
    suite.gateway.on('GET /healthz', () => ({
      status: 503,
      body: {
        status: 'degraded',
        services: { identity: { status: 'ok', uptimeSeconds: 5 }, ai: { status: 'unreachable', error: 'timeout' } },
      },
    }));
    const result = await cli('status');
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^identity +ok +up 5s$/m);
    assert.match(result.stdout, /^ai +unreachable +timeout$/m);
    assert.match(result.stdout, /platform: degraded\n$/);
  });
});
