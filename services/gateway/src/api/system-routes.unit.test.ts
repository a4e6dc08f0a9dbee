import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HealthReport, NodeStatus, type NodeView, type ReconcilerStats } from '@agentpod/contracts';
import { type DoctorFacts, doctorChecks, doctorReport } from './system-routes.ts';

/* The doctor's verdicts from the facts the gateway gathers: each problem a fail or warn with what to do. */

/** The status of a node that stopped heartbeating (`offline`, renamed `unreachable` in issue 5). */
const SILENT = NodeStatus.options.find((status) => !['pending', 'online', 'removed'].includes(status)) ?? 'removed';

const now = new Date('2025-01-02T03:04:05.000Z');

const healthy = (service: string, postgresMs = 1.2, version = '0.1.0'): HealthReport => ({
  service,
  status: 'ok',
  version,
  instanceId: '12345678-aaaa',
  uptimeSeconds: 60,
  dependencies: { nats: { ok: true, latencyMs: 0.3 }, postgres: { ok: true, latencyMs: postgresMs } },
});

const stats = (overrides: Partial<ReconcilerStats> = {}): ReconcilerStats => ({
  at: now.toISOString(),
  shardCount: 4,
  replicas: [
    {
      instanceId: 'r1',
      shards: [0, 1],
      busy: [],
      passes: 10,
      lastPassMs: 12.5,
      lastPassAt: now.toISOString(),
      podsPlanned: 3,
      actionsStarted: 0,
      actionsInFlight: 0,
      startedAt: now.toISOString(),
      reportedAt: now.toISOString(),
    },
    {
      instanceId: 'r2',
      shards: [2, 3],
      busy: [],
      passes: 9,
      lastPassMs: 20,
      lastPassAt: now.toISOString(),
      podsPlanned: 2,
      actionsStarted: 0,
      actionsInFlight: 0,
      startedAt: now.toISOString(),
      reportedAt: now.toISOString(),
    },
  ],
  unheld: [],
  ...overrides,
});

const node = (name: string, overrides: Partial<NodeView> = {}): NodeView => ({
  id: `nod_${name.padEnd(24, 'x')}`,
  name,
  tenantId: null,
  status: 'online',
  lastSeenAt: '2025-01-02T03:04:02.000Z',
  facts: {
    hostname: `${name}.example`,
    os: 'linux',
    arch: 'x64',
    cpus: 4,
    memoryBytes: 8 << 30,
    diskBytes: 0,
    diskFreeBytes: 0,
    dockerVersion: '27.1.0',
    agentVersion: '0.1.0',
  },
  pods: 2,
  reservedMemoryBytes: 0,
  createdAt: now.toISOString(),
  ...overrides,
});

const facts = (overrides: Partial<DoctorFacts> = {}): DoctorFacts => ({
  now,
  gatewayVersion: '0.1.0',
  nats: { ok: true, rttMs: 0.4, server: '127.0.0.1:4222' },
  services: { pods: healthy('pods'), reconciler: healthy('reconciler') },
  reconciler: stats(),
  nodes: [node('edge-1')],
  ...overrides,
});

const byId = (checks: ReturnType<typeof doctorChecks>) => new Map(checks.map((c) => [c.id, c]));

describe('doctor verdicts', () => {
  test('all well: every check ok, in reading order, no hints', () => {
    const report = doctorReport(facts());
    assert.equal(report.status, 'ok');
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [
        ['gateway', 'ok'],
        ['nats', 'ok'],
        ['postgres', 'ok'],
        ['service.pods', 'ok'],
        ['service.reconciler', 'ok'],
        ['reconciler.replicas', 'ok'],
        ['node.edge-1', 'ok'],
      ],
    );
    assert.ok(report.checks.every((c) => c.hint === null));
    const checks = byId(report.checks);
    assert.equal(checks.get('reconciler.replicas')?.detail, '2 replicas, 4 shards (2 + 2); last pass 20 ms');
    assert.equal(
      checks.get('node.edge-1')?.detail,
      'edge-1 is online (last seen 3s ago), Docker 27.1.0, agent 0.1.0, 2 pods',
    );
  });

  test('a service that does not answer fails, naming how to start it', () => {
    const report = doctorReport(
      facts({
        services: {
          pods: healthy('pods'),
          monitor: { service: 'monitor', status: 'unreachable', error: 'nothing answers monitor.qry.health' },
        },
      }),
    );
    assert.equal(report.status, 'fail');
    const monitor = byId(report.checks).get('service.monitor');
    assert.equal(monitor?.status, 'fail');
    assert.match(monitor?.hint ?? '', /start the monitor service/);
  });

  test('PostgreSQL failing for a service: the service and PostgreSQL both fail, saying what to check', () => {
    const broken: HealthReport = {
      ...healthy('pods'),
      status: 'degraded',
      dependencies: { nats: { ok: true }, postgres: { ok: false, error: 'connect ECONNREFUSED' } },
    };
    const checks = byId(doctorChecks(facts({ services: { pods: broken, reconciler: healthy('reconciler') } })));
    assert.equal(checks.get('service.pods')?.status, 'fail');
    assert.match(checks.get('service.pods')?.hint ?? '', /AGENTPOD_DATABASE_URL/);
    assert.equal(checks.get('postgres')?.status, 'fail');
    assert.match(
      checks.get('postgres')?.detail ?? '',
      /1 of 2 services cannot reach PostgreSQL \(connect ECONNREFUSED\)/,
    );
  });

  test('slow or mismatched parts warn', () => {
    const checks = byId(
      doctorChecks(
        facts({
          nats: { ok: true, rttMs: 250, server: 'nats:4222' },
          services: { pods: healthy('pods', 400, '0.0.9') },
        }),
      ),
    );
    assert.equal(checks.get('nats')?.status, 'warn');
    assert.equal(checks.get('postgres')?.status, 'warn');
    assert.equal(checks.get('service.pods')?.status, 'warn');
    assert.match(checks.get('service.pods')?.hint ?? '', /restart pods/);
  });

  test('NATS not answering the gateway fails', () => {
    const check = byId(doctorChecks(facts({ nats: { ok: false, error: 'closed', server: 'nats:4222' } }))).get('nats');
    assert.equal(check?.status, 'fail');
    assert.match(check?.hint ?? '', /nats-server/);
  });

  test('reconciler: no answer fails, shards held by nobody warn', () => {
    assert.equal(
      byId(doctorChecks(facts({ reconciler: { error: 'no responders' } }))).get('reconciler.replicas')?.status,
      'fail',
    );
    const unheld = byId(doctorChecks(facts({ reconciler: stats({ unheld: [3] }) }))).get('reconciler.replicas');
    assert.equal(unheld?.status, 'warn');
    assert.match(unheld?.detail ?? '', /shards 3 are held by no replica/);
  });

  test('nodes: unreachable fails, never joined or without Docker warns, removed ones are left out, none warns', () => {
    const checks = byId(
      doctorChecks(
        facts({
          nodes: [
            node('gone', { status: 'removed' }),
            node('lost', { status: SILENT, lastSeenAt: '2025-01-02T02:04:05.000Z' }),
            node('fresh', { status: 'pending', facts: null, lastSeenAt: null }),
            node('nodock', {
              facts: { ...(node('x').facts as NonNullable<NodeView['facts']>), dockerVersion: null },
            }),
          ],
        }),
      ),
    );
    assert.equal(checks.has('node.gone'), false);
    assert.equal(checks.get('node.lost')?.status, 'fail');
    assert.match(checks.get('node.lost')?.detail ?? '', /last seen 60m ago/);
    assert.match(checks.get('node.lost')?.hint ?? '', /on lost\.example: systemctl status agentpod-agent/);
    assert.equal(checks.get('node.fresh')?.status, 'warn');
    assert.match(checks.get('node.fresh')?.hint ?? '', /agentpod node join-token fresh/);
    assert.equal(checks.get('node.nodock')?.status, 'warn');
    const none = byId(doctorChecks(facts({ nodes: [] }))).get('nodes');
    assert.equal(none?.status, 'warn');
    assert.match(none?.hint ?? '', /agentpod node add/);
  });
});
