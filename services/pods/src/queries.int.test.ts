import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError, newId, type Principal, querySubject, type RequestMeta } from '@agentpod/contracts';
import { type RunningService, request, runService } from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { PodsDb } from './db.ts';
import { podsService } from './index.ts';

const subject = querySubject('pods', 'countTenantPods');
const system: RequestMeta = { actor: { kind: 'system', id: 'tenants' }, correlationId: 'c' };
const asUser = (principal: Principal): RequestMeta => ({
  actor: { kind: 'user', id: principal.userId },
  correlationId: newId(),
  principal,
});
const user: Principal = {
  userId: 'usr_someone0000000000000',
  email: 'u@example.com',
  platformAdmin: false,
  via: 'session',
};

describe('pods.qry.countTenantPods', () => {
  let nats: TestNatsServer;
  let db: TestDatabase;
  let pods: RunningService<PodsDb, unknown>;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('agentpod_pods');
    pods = await runService(podsService, {
      env: { AGENTPOD_NATS_URL: nats.url, AGENTPOD_DATABASE_URL: db.url, AGENTPOD_LOG_LEVEL: 'warn' },
    });
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await pods?.stop();
    await db?.drop();
    await nats?.stop();
  });

  test('counts the pods of a tenant in the read model (empty until the pods issue fills it)', async () => {
    assert.deepEqual(await request(nc, subject, { tenantId: 'acme' }, system), { count: 0 });
    await pods.runtime.db
      .insertInto('pods')
      .values([
        { id: 'p1', tenant_id: 'acme' },
        { id: 'p2', tenant_id: 'acme' },
        { id: 'p3', tenant_id: 'beta' },
      ])
      .execute();
    assert.deepEqual(await request(nc, subject, { tenantId: 'acme' }, system), { count: 2 });
    assert.deepEqual(await request(nc, subject, { tenantId: 'beta' }, asUser({ ...user, platformAdmin: true })), {
      count: 1,
    });
  });

  test('a user who is not a platform admin may not ask; a bad tenant id is invalid', async () => {
    await assert.rejects(request(nc, subject, { tenantId: 'acme' }, asUser(user)), (error: unknown) => {
      return error instanceof AppError && error.code === 'forbidden';
    });
    await assert.rejects(request(nc, subject, { tenantId: '../x' }, system), (error: unknown) => {
      return error instanceof AppError && error.code === 'invalid';
    });
  });
});
