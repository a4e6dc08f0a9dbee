import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { aiService } from '@agentpod/ai';
import { buildApp, type PlatformHealth } from '@agentpod/gateway';
import { identityService } from '@agentpod/identity';
import { createLogger, runService } from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import { monitorService } from '@agentpod/monitor';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';

/** Starts every backend service; each keeps its own types, so they are started one by one, not from an array. */
const startAll = (env: NodeJS.ProcessEnv) =>
  Promise.all([
    runService(identityService, { env }),
    runService(tenantsService, { env }),
    runService(podsService, { env }),
    runService(reconcilerService, { env }),
    runService(monitorService, { env }),
    runService(aiService, { env }),
  ]);

describe('every service starts on the kit and the gateway aggregates their health', () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let nc: NatsConnection;
  let app: FastifyInstance;
  let running: Awaited<ReturnType<typeof startAll>>;
  const stopped = new Set<{ stop(): Promise<void> }>();

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase();
    const env = { AGENTPOD_NATS_URL: nats.url, AGENTPOD_DATABASE_URL: database.url, AGENTPOD_LOG_LEVEL: 'silent' };
    running = await startAll(env);
    nc = await connect({ servers: nats.url });
    app = buildApp({ nc, logger: createLogger('gateway', 'silent') });
  });
  after(async () => {
    await app?.close();
    await nc?.close();
    for (const service of running ?? []) if (!stopped.has(service)) await service.stop();
    await database?.drop();
    await nats?.stop();
  });

  test('each service created its stream and its schema', async () => {
    const jsm = await jetstreamManager(nc);
    const names = (await jsm.streams.names().next()).sort();
    assert.deepEqual(names, ['AGENT', 'AI', 'IDENTITY', 'MONITOR', 'PODS', 'RECONCILER', 'TENANTS']);
    const [first] = running;
    assert.ok(first);
    const schemas = await first.runtime.sql<{ nspname: string }[]>`
      select nspname from pg_namespace where nspname in ('identity','tenants','pods','reconciler','monitor','ai')`;
    assert.equal(schemas.length, 6);
  });

  test('GET /healthz is 200 with every service ok, and carries a request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const health = response.json<PlatformHealth>();
    assert.equal(health.status, 'ok');
    assert.deepEqual(Object.keys(health.services).sort(), [
      'ai',
      'identity',
      'monitor',
      'pods',
      'reconciler',
      'tenants',
    ]);
    for (const service of Object.values(health.services)) {
      assert.equal(service.status, 'ok');
      if ('dependencies' in service) {
        assert.equal(service.dependencies.nats?.ok, true);
        assert.equal(service.dependencies.postgres?.ok, true);
      }
    }
  });

  test('a stopped service makes /healthz 503 and names it unreachable', async () => {
    const ai = running[5];
    await ai.stop();
    stopped.add(ai);
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 503);
    const health = response.json<PlatformHealth>();
    assert.equal(health.services.ai?.status, 'unreachable');
    assert.equal(health.services.pods?.status, 'ok');
  });
});
