import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import {
  type DoctorReport,
  PodSpec,
  type PodView,
  type ReconcilePlanResult,
  type ReconcileResult,
} from '@agentpod/contracts';
import { runCli, useFakeGateway } from './test/fake-gateway.ts';
import { NODE_ID, podView } from './test/pod-fixtures.ts';

/*
 * The operator's commands against a stand-in gateway: reconcile (dry run, one pass, follow), health and doctor —
 * what each sends, what it prints where, and its exit code.
 */

const start = (podId: string, attempt: number) => ({
  kind: 'start' as const,
  tenantId: 'acme',
  podId,
  nodeId: NODE_ID,
  generation: 1,
  containerId: 'c0ffee',
  cause: null,
  recovery: { reason: 'crash' as const, attempt },
});

const plan: ReconcilePlanResult = {
  at: '2025-01-02T03:04:05.000Z',
  onlineNodes: [NODE_ID],
  actions: [
    start('web', 1),
    { kind: 'create', tenantId: 'acme', podId: 'api', nodeId: NODE_ID, generation: 2, cause: null },
  ],
  waits: [
    {
      tenantId: 'acme',
      podId: 'worker',
      nodeId: NODE_ID,
      generation: 1,
      reason: 'crash-backoff',
      until: '2025-01-02T03:04:09.000Z',
      attempt: 3,
    },
  ],
};

const pass = (failed: boolean): ReconcileResult => ({
  at: '2025-01-02T03:04:05.000Z',
  replicas: [
    { instanceId: 'aaaaaaaa-1111', shards: [0, 1, 2, 3], durationMs: 12.3, skipped: null },
    { instanceId: 'bbbbbbbb-2222', shards: [4, 5, 6, 7], durationMs: 8, skipped: null },
  ],
  actions: [
    { action: start('web', 2), instanceId: 'aaaaaaaa-1111', outcome: { result: 'succeeded', containerId: 'c0ffee' } },
    {
      action: start('api', 1),
      instanceId: 'bbbbbbbb-2222',
      outcome: failed
        ? { result: 'failed', error: { code: 'unavailable', message: 'no such image' } }
        : { result: 'pending' },
    },
  ],
  waits: [],
});

const pod = (podId: string, overrides: Partial<PodView>): PodView => ({ ...podView, podId, ...overrides });

describe('agentpod reconcile, health and doctor against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('reconcile --dry-run shows the actions and the pods left waiting, changing nothing', async () => {
    suite.gateway.on('GET /api/v1/reconciler/plan', () => ({ status: 200, body: plan }));
    const result = await cli('reconcile', '--dry-run', '--tenant', 'acme');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      suite.gateway.requests.map((r) => [r.method, r.path, r.query]),
      [['GET', '/api/v1/reconciler/plan', { tenant: 'acme' }]],
    );
    const lines = result.stdout.split('\n');
    assert.match(lines[0] ?? '', /^ACTION +POD +NODE +GENERATION +DETAIL$/);
    assert.match(lines[1] ?? '', /^start +acme\/web +nod_\w+ +1 +recovery 1 \(crash\)$/);
    assert.match(lines[2] ?? '', /^create +acme\/api +nod_\w+ +2 +-$/);
    assert.match(result.stdout, /waiting:\nPOD +NODE +REASON +UNTIL +NEXT ATTEMPT\n/);
    assert.match(result.stdout, /acme\/worker +nod_\w+ +backing off after a crash +2025-01-02T03:04:09Z +3\n/);

    const json = await cli('reconcile', '--dry-run', '--json');
    assert.deepEqual(JSON.parse(json.stdout), plan);
  });

  test('reconcile --once runs one pass and shows each action with its outcome; a failure exits 1', async () => {
    suite.gateway.on('POST /api/v1/reconciler/reconcile', () => ({ status: 200, body: pass(false) }));
    const ok = await cli('reconcile', '--once');
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, {});
    assert.match(ok.stdout, /^pass by 2 replicas \(aaaaaaaa: 4 shards, 12 ms; bbbbbbbb: 4 shards, 8 ms\)\n/);
    assert.match(ok.stdout, /start +acme\/web +nod_\w+ +done +recovery 2 \(crash\)\n/);
    assert.match(ok.stdout, /start +acme\/api +nod_\w+ +still running +recovery 1 \(crash\)\n/);

    suite.gateway.reset();
    suite.gateway.on('POST /api/v1/reconciler/reconcile', () => ({ status: 200, body: pass(true) }));
    const failed = await cli('reconcile', '--once', '--tenant', 'acme');
    assert.equal(failed.code, 1);
    assert.deepEqual(suite.gateway.requests[0]?.body, { tenant: 'acme' });
    assert.match(failed.stdout, /failed: no such image/);
  });

  test('reconcile refuses --once with --dry-run, and a bad tenant, before sending anything', async () => {
    const both = await cli('reconcile', '--once', '--dry-run');
    assert.equal(both.code, 2);
    assert.equal(both.stderr, 'agentpod: --dry-run shows, --once acts: give one of them\n');
    const bad = await cli('reconcile', '--dry-run', '--tenant', 'Not A Tenant');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^agentpod: invalid --tenant/);
    assert.equal(suite.gateway.requests.length, 0);
  });

  test('reconcile without flags: one pass, then every reconciler event as it happens until Ctrl-C', async () => {
    suite.gateway.on('POST /api/v1/reconciler/reconcile', () => ({ status: 200, body: pass(false) }));
    let held: ServerResponse | undefined;
    suite.gateway.on('GET /api/v1/events', (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const event = (type: string, data: Record<string, unknown>) =>
        `${JSON.stringify({ type, occurredAt: '2025-01-02T03:04:07.000Z', aggregateId: 'pod_acme_web', data })}\n`;
      response.write(
        event('PodActionSucceeded', {
          tenantId: 'acme',
          podId: 'web',
          action: 'start',
          recovery: { reason: 'crash', attempt: 3 },
        }),
      );
      response.write(event('PodFailing', { tenantId: 'acme', podId: 'web', summary: 'exited with code 1 3 times' }));
      held = response;
    });
    const result = await runCli(['reconcile'], { env: suite.env, interruptWhen: (soFar) => soFar.includes('FAILING') });
    held?.end();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[1]?.query, { context: 'reconciler', follow: 'true', limit: '1' });
    assert.match(result.stdout, /^pass by 2 replicas/);
    assert.match(result.stdout, /2025-01-02T03:04:07Z {2}acme\/web {2}start done \(recovery 3, crash\)\n/);
    assert.match(result.stdout, /2025-01-02T03:04:07Z {2}acme\/web {2}FAILING: exited with code 1 3 times\n/);
  });

  test('health counts pods by status and health and lists those needing attention; exit 1 when any does', async () => {
    const checked = PodSpec.parse({
      image: 'nginx:1.27',
      ports: [{ containerPort: 8080 }],
      health: { type: 'http', path: '/healthz' },
    });
    suite.gateway.on('GET /api/v1/pods', () => ({
      status: 200,
      body: {
        pods: [
          pod('web', {}),
          pod('api', { spec: checked, health: 'healthy' }),
          pod('worker', { status: 'failing', restarts: 4, message: 'exited with code 1 4 times in a row' }),
          pod('cron', { spec: checked, health: 'unhealthy', message: 'GET /healthz answered 500' }),
        ],
      },
    }));
    const result = await cli('health', '--tenant', 'acme');
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, { tenant: 'acme' });
    assert.match(result.stdout, /^pods {4}4: failing 1, running 3\nhealth {2}healthy 1, no check 2, unhealthy 1\n/);
    assert.match(result.stdout, /needs attention:\nPOD +STATUS +HEALTH +RESTARTS +MESSAGE\n/);
    assert.match(result.stdout, /acme\/cron +running +unhealthy +0 +GET \/healthz answered 500\n/);
    assert.match(result.stdout, /acme\/worker +failing +- +4 +exited with code 1 4 times in a row\n/);
    assert.doesNotMatch(result.stdout, /acme\/web/);

    suite.gateway.reset();
    suite.gateway.on('GET /api/v1/pods', () => ({ status: 200, body: { pods: [pod('web', {})] } }));
    const fine = await cli('health');
    assert.equal(fine.code, 0);
    assert.match(fine.stdout, /every pod is as it should be\n$/);
  });

  test('doctor: local checks, the platform checks with what to do, exit 1 when one fails', async () => {
    const report: DoctorReport = {
      at: '2025-01-02T03:04:05.000Z',
      status: 'fail',
      checks: [
        { id: 'nats', area: 'nats', status: 'ok', detail: 'connected, round trip 0.4 ms', hint: null },
        {
          id: 'service.monitor',
          area: 'service',
          status: 'fail',
          detail: 'monitor does not answer its health query',
          hint: 'start the monitor service',
        },
        { id: 'node.edge-1', area: 'node', status: 'warn', detail: 'edge-1 has never joined', hint: 'run the install' },
      ],
    };
    suite.gateway.on('GET /healthz', () => ({ status: 503, body: { status: 'degraded', services: {} } }));
    suite.gateway.on('GET /api/v1/system/doctor', () => ({ status: 200, body: report }));
    const result = await cli('doctor');
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stdout,
      /^CHECK +STATUS +DETAIL\ngateway\.reachable +ok +http:\/\/127\.0\.0\.1:\d+ answers \(HTTP 503\)\n/,
    );
    assert.match(result.stdout, /\ndocker\.local +(ok|WARN|FAIL) +/);
    assert.match(result.stdout, /\nservice\.monitor +FAIL +monitor does not answer its health query\n/);
    assert.match(
      result.stdout,
      /\nwhat to do:\n(?: {2}docker\.local: .*\n)? {2}service\.monitor: start the monitor service\n {2}node\.edge-1: run the install\n/,
    );

    const json = await cli('doctor', '--json');
    const parsed = JSON.parse(json.stdout) as DoctorReport;
    assert.equal(parsed.status, 'fail');
    assert.deepEqual(
      parsed.checks.map((c) => c.id),
      ['gateway.reachable', 'docker.local', 'nats', 'service.monitor', 'node.edge-1'],
    );
  });

  test('doctor without a credential, and without a gateway: each says what to do', async () => {
    suite.gateway.on('GET /healthz', () => ({ status: 200, body: { status: 'ok', services: {} } }));
    const anonymous = await runCli(['doctor'], {
      env: { HOME: suite.env.HOME ?? '', AGENTPOD_URL: suite.gateway.url },
    });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stdout, /platform +FAIL +not signed in: the platform checks were not run\n/);
    assert.match(anonymous.stdout, /platform: agentpod login \(as a platform admin\), or set AGENTPOD_TOKEN\n/);

    const nowhere = await runCli(['doctor'], { env: { ...suite.env, AGENTPOD_URL: 'http://127.0.0.1:9' } });
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stdout, /gateway\.reachable +FAIL +cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
    assert.match(nowhere.stdout, /gateway\.reachable: start the control plane \(npm start\)/);
  });
});
