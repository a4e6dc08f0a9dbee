import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AggregateId,
  AppError,
  type Context,
  type ErrorCode,
  newId,
  type Principal,
  type RequestMeta,
  streamName,
  systemActor,
  type TenantRole,
} from '@agentpod/contracts';
import { type AggregatePosition, EMPTY_POSITION, type RunningService, request, runService } from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import type { MonitorDb } from '../db.ts';
import type { MonitorEnv } from '../env.ts';
import { monitorService } from '../index.ts';

/*
 * The monitor on a private nats-server and a fresh database. Nothing else runs: the test appends what the tenants
 * service and the reconciler would (memberships, PodFailing, PodRecovered) to their streams itself, and calls the
 * monitor's commands and queries over NATS as the gateway would.
 */

export const person = (name: string, extra: Partial<Principal> = {}): Principal => ({
  userId: `usr_${name.padEnd(20, '0')}`,
  email: `${name}@example.com`,
  platformAdmin: false,
  via: 'session',
  ...extra,
});

export type Stack = {
  nats: TestNatsServer;
  db: TestDatabase;
  monitor: RunningService<MonitorDb, MonitorEnv>;
  call<T = unknown>(subject: string, data: unknown, as?: Principal): Promise<T>;
  /** Resolves with the error the call is refused with; fails when it succeeds. */
  refused(subject: string, data: unknown, as?: Principal): Promise<{ code: ErrorCode; message: string }>;
  /** A tenant and its members, as the tenants service records them. */
  tenant(tenantId: string, members: Record<string, TenantRole>): Promise<void>;
  /** Appends one event as `service` would; returns its stream sequence. */
  append(context: Context, aggregateId: AggregateId, type: string, data: object, tenantId?: string): Promise<number>;
  /** Every message of a stream, as stored (the raw text). */
  rawStream(context: Context): Promise<string[]>;
  stop(): Promise<void>;
};

const metaFor = (as: Principal | undefined): RequestMeta => ({
  actor: as ? { kind: 'user', id: as.userId } : systemActor('test'),
  correlationId: newId(),
  ...(as ? { principal: as } : {}),
});

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const db = await createTestDatabase('agentpod_monitor');
    cleanups.push(() => db.drop());
    const stateDir = await mkdtemp(join(tmpdir(), 'agentpod-monitor-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const monitor = await runService(monitorService, {
      env: {
        AGENTPOD_NATS_URL: nats.url,
        AGENTPOD_DATABASE_URL: db.url,
        AGENTPOD_LOG_LEVEL: 'silent',
        AGENTPOD_STATE_DIR: stateDir,
        AGENTPOD_SECRETS_KEY: randomBytes(32).toString('base64'),
        ...env,
      },
    });
    cleanups.push(() => monitor.stop());
    const { runtime } = monitor;
    const positions = new Map<string, AggregatePosition>();
    const append: Stack['append'] = async (context, aggregateId, type, data, tenantId) => {
      const key = `${context}:${aggregateId}`;
      const { position } = await runtime.store.append(
        context,
        aggregateId,
        [{ type, data, ...(tenantId ? { tenantId } : {}) }],
        {
          expected: positions.get(key) ?? EMPTY_POSITION,
          meta: { actor: systemActor(context), correlationId: newId() },
          now: new Date(),
        },
      );
      positions.set(key, position);
      return position.seq;
    };
    const call = <T>(subject: string, data: unknown, as?: Principal) =>
      request<T>(runtime.nc, subject, data, metaFor(as), { timeoutMs: 15_000 });
    return {
      nats,
      db,
      monitor,
      call,
      append,
      async refused(subject, data, as) {
        try {
          await call(subject, data, as);
        } catch (error) {
          if (error instanceof AppError) return { code: error.code, message: error.message };
          throw error;
        }
        throw new Error(`${subject} succeeded; it should have been refused`);
      },
      async tenant(tenantId, members) {
        const [owner] = Object.keys(members);
        await append(
          'tenants',
          tenantId,
          'TenantCreated',
          { tenantId, name: tenantId, ownerId: person(owner ?? 'x').userId },
          tenantId,
        );
        for (const [name, role] of Object.entries(members)) {
          const { userId, email } = person(name);
          await append('tenants', tenantId, 'MemberAdded', { userId, email, role }, tenantId);
        }
      },
      async rawStream(context) {
        const stream = streamName(context);
        const last = (await runtime.jsm.streams.info(stream)).state.last_seq;
        const messages: string[] = [];
        for (let seq = 1; seq <= last; seq++) {
          const message = await runtime.jsm.direct.getMessage(stream, { seq });
          if (message) messages.push(message.string());
        }
        return messages;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
