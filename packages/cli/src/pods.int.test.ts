import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { PodSpec, type PodView } from '@agentpod/contracts';
import { runCli, useFakeGateway } from './test/fake-gateway.ts';
import { ACCESS_TOKEN, addNodeResult, NODE_ID, nodeView, podView } from './test/pod-fixtures.ts';

/*
 * The pod and node commands against a stand-in gateway: the request each one sends (method, path, query, body),
 * what it prints where, and its exit code.
 */

const POD = '/api/v1/tenants/acme/pods/web';
const MiB = 1024 * 1024;

describe('agentpod pod and node commands against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('pod create turns the flags into the API body; the secret is sent, never printed', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/pods', () => ({
      status: 201,
      body: { ...podView, status: 'pending', message: 'waiting for the node', accessToken: ACCESS_TOKEN },
    }));
    const result = await cli(
      'pod',
      'create',
      'acme/web',
      '--image',
      'ghcr.io/acme/app:v2',
      '--port',
      '8080',
      '--port',
      '53/udp',
      '--port',
      '9090:public',
      '--env',
      'MODE=prod',
      '--env',
      'URL=postgres://db/app?sslmode=require',
      '--secret',
      'API_KEY=hunter2-very-secret',
      '--memory',
      '512m',
      '--cpus',
      '1.5',
      '--pids',
      '100',
      '--volume',
      '/data',
      '--cmd',
      `node server.js --greeting "hello world" --name 'a b'`,
      '--health',
      'http:/healthz',
      '--node',
      'edge-1',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      podId: 'web',
      spec: {
        image: 'ghcr.io/acme/app:v2',
        cmd: ['node', 'server.js', '--greeting', 'hello world', '--name', 'a b'],
        env: { MODE: 'prod', URL: 'postgres://db/app?sslmode=require' },
        secretNames: ['API_KEY'],
        ports: [
          { containerPort: 8080, protocol: 'tcp', public: false },
          { containerPort: 53, protocol: 'udp', public: false },
          { containerPort: 9090, protocol: 'tcp', public: true },
        ],
        volume: { mountPath: '/data' },
        limits: { memoryBytes: 512 * MiB, cpus: 1.5, pids: 100 },
        health: {
          type: 'http',
          path: '/healthz',
          intervalSeconds: 10,
          timeoutSeconds: 3,
          failureThreshold: 3,
          startGraceSeconds: 30,
        },
        restart: 'always',
      },
      secrets: { API_KEY: 'hunter2-very-secret' },
      node: 'edge-1',
    });
    assert.match(result.stdout, /^created pod acme\/web on node edge-1: pending: waiting for the node$/m);
    assert.match(result.stdout, new RegExp(`^access token +${ACCESS_TOKEN}$`, 'm'));
    assert.ok(!`${result.stdout}${result.stderr}`.includes('hunter2'));
  });

  test('pod create --secret K reads the value from stdin', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/pods', () => ({
      status: 201,
      body: { ...podView, accessToken: ACCESS_TOKEN },
    }));
    const result = await runCli(['pod', 'create', 'acme/web', '--image', 'nginx:1.27', '--secret', 'TOKEN', '--json'], {
      env: suite.env,
      stdin: 'multi=line\nsecret value\n',
    });
    assert.equal(result.code, 0, result.stderr);
    const body = suite.gateway.requests[0]?.body as { secrets: unknown; spec: { secretNames: string[] } };
    assert.deepEqual(body.secrets, { TOKEN: 'multi=line\nsecret value' });
    assert.deepEqual(body.spec.secretNames, ['TOKEN']);
    assert.equal(JSON.parse(result.stdout).accessToken, ACCESS_TOKEN);
    assert.ok(!result.stdout.includes('secret value'));

    const empty = await runCli(['pod', 'create', 'acme/web', '--image', 'nginx:1.27', '--secret', 'TOKEN'], {
      env: suite.env,
    });
    assert.deepEqual(empty, {
      code: 2,
      stdout: '',
      stderr: 'agentpod: invalid --secret TOKEN: no value was given on stdin\n',
    });
  });

  test('bad flags fail locally: exit 2, one clear line, nothing sent', async () => {
    const base = ['pod', 'create', 'acme/web', '--image', 'nginx:1.27'];
    const cases: [string[], string][] = [
      [[...base, '--memory', '12x'], 'invalid --memory 12x: must be a size such as 256m or 1g'],
      [[...base, '--port', '70000'], 'invalid --port 70000: must be a port number 1-65535'],
      [
        [...base, '--env', '1BAD=x'],
        'invalid --env 1BAD=x: must be a letter or "_" then letters, digits or "_" (max 128)',
      ],
      [[...base, '--cmd', 'node "server.js'], 'invalid --cmd "node \\"server.js": has an unbalanced double quote'],
      [[...base, '--cpus', 'lots'], 'invalid --cpus lots: must be a number of CPUs, e.g. 0.5'],
      [[...base, '--volume', 'data'], 'invalid --volume data: must be an absolute normalised path such as /data'],
      [
        ['pod', 'create', 'acme', '--image', 'nginx'],
        'invalid <tenant>/<pod> "acme": must be <tenant>/<pod>, e.g. acme/web',
      ],
      [['pod', 'create', 'acme/web'], 'missing --image; usage: agentpod pod create <tenant/pod> --image IMG [options]'],
      [
        ['pod', 'create', 'acme/web', '--image', 'nginx; rm -rf /'],
        'invalid --image: must be an image reference: [registry/]name[:tag][@digest]',
      ],
      [
        [...base, '--health', 'http:/', '--port', '53/udp'],
        'invalid --health: a health check needs a TCP port to probe',
      ],
      [['pod', 'logs', 'acme/web', '--tail', 'all'], 'invalid --tail all: must be a number of lines, 0-10000'],
      [['pod', 'update', 'acme/web'], 'nothing to change; see agentpod pod update --help'],
      [
        ['node', 'add', 'Edge 1'],
        'invalid <name>: must be 3-32 lower-case letters, digits or inner hyphens, starting with a letter',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      assert.deepEqual(result, { code: 2, stdout: '', stderr: `agentpod: ${message}\n` }, args.join(' '));
    }
    assert.equal(suite.gateway.requests.length, 0);
  });

  test('pod create --wait: progress on stderr, the running pod on stdout', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/pods', () => ({
      status: 201,
      body: { ...podView, status: 'pending', accessToken: ACCESS_TOKEN },
    }));
    const states: Partial<PodView>[] = [
      { status: 'pending', message: 'node unreachable' },
      { status: 'pending', message: 'node unreachable' },
      { status: 'creating' },
      { status: 'running' },
    ];
    let polls = 0;
    suite.gateway.on(`GET ${POD}`, () => ({
      status: 200,
      body: { ...podView, ...states[Math.min(polls++, states.length - 1)] },
    }));
    const result = await cli('pod', 'create', 'acme/web', '--image', 'nginx:1.27', '--wait', '--json');
    assert.equal(result.code, 0, result.stderr);
    const progress = result.stderr.split('\n').filter((line) => line.startsWith('acme/web: '));
    assert.deepEqual(
      progress.map((line) => line.replace(/ \(\d+s\)$/, '')),
      ['acme/web: pending: node unreachable', 'acme/web: creating', 'acme/web: running'],
    );
    assert.deepEqual(JSON.parse(result.stdout), { ...podView, accessToken: ACCESS_TOKEN });
  });

  test('--wait: a pod that fails exits 1 with its error; one that never starts times out', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/pods', () => ({
      status: 201,
      body: { ...podView, accessToken: ACCESS_TOKEN },
    }));
    const message = 'pull access denied for nope/missing, repository does not exist';
    suite.gateway.on(`GET ${POD}`, () => ({ status: 200, body: { ...podView, status: 'failed', message } }));
    const failed = await cli('pod', 'create', 'acme/web', '--image', 'nope/missing:1', '--wait');
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, new RegExp(`agentpod: acme/web failed: ${message}\\n$`));

    suite.gateway.on(`GET ${POD}`, () => ({
      status: 200,
      body: { ...podView, status: 'pending', message: 'node unreachable' },
    }));
    const slow = await cli('pod', 'create', 'acme/web', '--image', 'nginx:1.27', '--wait', '--timeout', '1', '--json');
    assert.equal(slow.code, 1);
    assert.equal(JSON.parse(slow.stdout).error.code, 'timeout');
    assert.match(
      JSON.parse(slow.stdout).error.message,
      /gave up waiting for acme\/web after 1s \(last: pending: node unreachable\)/,
    );
  });

  test('pod create --wait with a health check waits for healthy', async () => {
    const spec = PodSpec.parse({ ...podView.spec, health: { type: 'http', path: '/healthz' } });
    suite.gateway.on('POST /api/v1/tenants/acme/pods', () => ({
      status: 201,
      body: { ...podView, spec, accessToken: ACCESS_TOKEN },
    }));
    let polls = 0;
    suite.gateway.on(`GET ${POD}`, () => ({
      status: 200,
      body: { ...podView, spec, health: polls++ < 2 ? 'starting' : 'healthy' },
    }));
    const result = await cli(
      'pod',
      'create',
      'acme/web',
      '--image',
      'nginx:1.27',
      '--port',
      '8080',
      '--health',
      'http:/healthz',
      '--wait',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /acme\/web: running, health starting \(\d+s\)\n/);
    assert.match(result.stderr, /acme\/web: running, health healthy \(\d+s\)\n/);
    assert.match(result.stdout, /^health +healthy \(http\)$/m);
  });

  test('pod list: grouped by tenant; --tenant is passed as the query', async () => {
    suite.gateway.on('GET /api/v1/pods', () => ({
      status: 200,
      body: {
        pods: [
          { ...podView, tenantId: 'globex', podId: 'api', status: 'pending', message: 'node unreachable', ports: [] },
          { ...podView, restarts: 3 },
        ],
      },
    }));
    const result = await cli('pod', 'list');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^acme\n {2}POD +STATUS +HEALTH +NODE +PORTS +RESTARTS +AGE\n {2}web +running +- +edge-1 +127\.0\.0\.1:20001→8080 +3 +\S+\n/,
    );
    assert.match(result.stdout, /\nglobex\n {2}POD +STATUS.*\n {2}api +pending: node unreachable +- +edge-1 +- +0 /);
    await cli('pod', 'list', '--tenant', 'acme');
    assert.deepEqual(suite.gateway.requests.at(-1)?.query, { tenant: 'acme' });
    const json = await cli('pod', 'list', '--json');
    assert.equal(JSON.parse(json.stdout).pods.length, 2);
  });

  test('pod status, stop, start, restart, token', async () => {
    suite.gateway.on(`GET ${POD}`, () => ({ status: 200, body: podView }));
    const status = await cli('pod', 'status', 'acme/web');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^ports +127\.0\.0\.1:20001→8080$/m);
    assert.match(status.stdout, /^limits +256Mi memory, 0\.5 CPUs, 256 pids$/m);
    for (const verb of ['stop', 'start', 'restart']) {
      suite.gateway.on(`POST ${POD}/${verb}`, () => ({ status: 200, body: podView }));
      const result = await cli('pod', verb, 'acme/web');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(suite.gateway.requests.at(-1)?.path, `${POD}/${verb}`);
      assert.equal(suite.gateway.requests.at(-1)?.method, 'POST');
    }
    suite.gateway.on(`GET ${POD}/token`, () => ({ status: 200, body: { accessToken: ACCESS_TOKEN } }));
    assert.deepEqual(await cli('pod', 'token', 'acme/web'), { code: 0, stdout: `${ACCESS_TOKEN}\n`, stderr: '' });
    suite.gateway.on(`POST ${POD}/token/rotate`, () => ({
      status: 200,
      body: { accessToken: 'apa_new', generation: 4 },
    }));
    const rotated = await cli('pod', 'token', 'acme/web', '--rotate', '--json');
    assert.deepEqual(JSON.parse(rotated.stdout), { accessToken: 'apa_new', generation: 4 });
    suite.gateway.on(`GET ${POD}/token`, () => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'this needs the admin role in acme; you have member' } },
    }));
    assert.equal((await cli('pod', 'token', 'acme/web')).code, 4);
  });

  test('pod update: what changes, limits one by one', async () => {
    suite.gateway.on(`PATCH ${POD}`, () => ({ status: 200, body: { ...podView, generation: 2 } }));
    const result = await cli(
      'pod',
      'update',
      'acme/web',
      '--image',
      'nginx:1.28',
      '--env',
      'MODE=debug',
      '--unset-env',
      'OLD',
      '--memory',
      '1g',
      '--health',
      'none',
      '--cmd',
      '',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'updated pod acme/web: generation 2\n');
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      image: 'nginx:1.28',
      cmd: null,
      env: { MODE: 'debug' },
      unsetEnv: ['OLD'],
      health: null,
      limits: { memoryBytes: 1024 ** 3 },
    });
  });

  test('pod delete: confirmation off a terminal needs --yes; --keep-volume is the query', async () => {
    const refused = await runCli(['pod', 'delete', 'acme/web'], { env: suite.env, stdin: 'acme/web\n' });
    assert.deepEqual(refused, {
      code: 2,
      stdout: '',
      stderr: 'agentpod: not deleting pod acme/web: confirm on a terminal, or pass --yes\n',
    });
    assert.equal(suite.gateway.requests.length, 0);
    suite.gateway.on(`DELETE ${POD}`, () => ({ status: 204 }));
    const deleted = await cli('pod', 'delete', 'acme/web', '--keep-volume', '--yes');
    assert.deepEqual(deleted, { code: 0, stdout: 'deleted pod acme/web; its volume is kept\n', stderr: '' });
    assert.deepEqual(suite.gateway.requests[0]?.query, { keepVolume: 'true' });
    await cli('pod', 'delete', 'acme/web', '-y');
    assert.deepEqual(suite.gateway.requests[1]?.query, { keepVolume: 'false' });
  });

  test("pod logs: the container's stdout to stdout, its stderr to stderr, escapes defused", async () => {
    suite.gateway.on(`GET ${POD}/logs`, () => ({
      status: 200,
      body: {
        lines: [
          { stream: 'stdout', time: '2025-01-02T03:04:05Z', text: 'listening on 8080' },
          { stream: 'stderr', time: '2025-01-02T03:04:06Z', text: 'warn\u001b[31m red' },
        ],
      },
    }));
    const result = await cli('pod', 'logs', 'acme/web', '--tail', '20');
    assert.deepEqual(result, { code: 0, stdout: 'listening on 8080\n', stderr: 'warn\\u{1b}[31m red\n' });
    assert.deepEqual(suite.gateway.requests[0]?.query, { tail: '20', follow: 'false' });
  });

  test('pod logs --follow streams lines as they come until Ctrl-C (exit 0); --json is NDJSON', async () => {
    let held: ServerResponse | undefined;
    suite.gateway.on(`GET ${POD}/logs`, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify({ stream: 'stdout', time: 't1', text: 'one' })}\n`);
      held = response;
    });
    let sentSecond = false;
    const result = await runCli(['pod', 'logs', 'acme/web', '-f', '--json'], {
      env: suite.env,
      onStdout: (soFar) => {
        if (!sentSecond && soFar.includes('one')) {
          sentSecond = true;
          held?.write(`${JSON.stringify({ stream: 'stderr', time: 't2', text: 'two' })}\n`);
        }
      },
      interruptWhen: (soFar) => soFar.includes('two'),
    });
    held?.end();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).text),
      ['one', 'two'],
    );
    assert.equal(suite.gateway.requests[0]?.query.follow, 'true');

    suite.gateway.on(`GET ${POD}/logs`, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify({ stream: 'stdout', time: 't1', text: 'last words' })}\n`);
      response.end(`${JSON.stringify({ error: { code: 'unavailable', message: 'the node is unreachable' } })}\n`);
    });
    const broken = await cli('pod', 'logs', 'acme/web', '--follow');
    assert.deepEqual(broken, { code: 1, stdout: 'last words\n', stderr: 'agentpod: the node is unreachable\n' });
  });

  test('node add prints the install command; --tenant registers a tenant node', async () => {
    suite.gateway.on('POST /api/v1/nodes', () => ({ status: 201, body: addNodeResult }));
    const result = await cli('node', 'add', 'edge-1');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { name: 'edge-1' });
    assert.match(result.stdout, /^Added node edge-1 \(nod_\w+\), in the platform pool\.$/m);
    assert.match(result.stdout, new RegExp(`^ {4}${addNodeResult.installCommand}$`, 'm'));
    assert.equal(result.stdout.split(addNodeResult.joinToken).length - 1, 1, 'the token is printed once');

    const owned = { ...addNodeResult, node: { ...addNodeResult.node, tenantId: 'acme' } };
    suite.gateway.on('POST /api/v1/tenants/acme/nodes', () => ({ status: 201, body: owned }));
    const tenant = await cli('node', 'add', 'edge-1', '--tenant', 'acme', '--json');
    assert.equal(tenant.code, 0, tenant.stderr);
    assert.equal(suite.gateway.requests[1]?.path, '/api/v1/tenants/acme/nodes');
    assert.deepEqual(JSON.parse(tenant.stdout), owned);
  });

  test('node list, status, join-token, remove', async () => {
    suite.gateway.on('GET /api/v1/nodes', () => ({
      status: 200,
      body: { nodes: [nodeView, { ...addNodeResult.node, name: 'spare', tenantId: 'acme' }] },
    }));
    const list = await cli('node', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME +ID +TENANT +STATUS +LAST SEEN +PODS +MEMORY$/m);
    assert.match(list.stdout, new RegExp(`^edge-1 +${NODE_ID} +pool +online +\\S+ ago +2 +512Mi/4Gi$`, 'm'));
    assert.match(list.stdout, /^spare +nod_\w+ +acme +pending +never +0 +0B\/\?$/m);

    suite.gateway.on('GET /api/v1/nodes/edge-1', () => ({ status: 200, body: nodeView }));
    const status = await cli('node', 'status', 'edge-1');
    assert.match(status.stdout, /^docker +27\.3\.1$/m);
    assert.match(status.stdout, /^disk +60Gi free of 80Gi$/m);

    suite.gateway.on('POST /api/v1/nodes/edge-1/join-token', () => ({ status: 201, body: addNodeResult }));
    const token = await cli('node', 'join-token', 'edge-1');
    assert.match(token.stdout, new RegExp(`^ {4}${addNodeResult.installCommand}$`, 'm'));

    const refused = await cli('node', 'remove', 'edge-1');
    assert.equal(refused.code, 2);
    suite.gateway.on('DELETE /api/v1/nodes/edge-1', () => ({ status: 200, body: { ...nodeView, status: 'removed' } }));
    const removed = await cli('node', 'remove', 'edge-1', '--yes');
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^removed node edge-1/);
    suite.gateway.on('DELETE /api/v1/nodes/edge-1', () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'no node edge-1' } },
    }));
    assert.deepEqual(await cli('node', 'remove', 'edge-1', '-y'), {
      code: 4,
      stdout: '',
      stderr: 'agentpod: no node edge-1\n',
    });
  });
});
