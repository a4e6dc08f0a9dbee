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
  systemActor,
  type TenantRole,
} from '@agentpod/contracts';
import type { z } from 'zod';
import { request } from '../client.ts';
import { type AggregatePosition, EMPTY_POSITION } from '../event-store.ts';
import { type RunningService, runService, type ServiceDefinition } from '../service.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startNatsServer, type TestNatsServer } from './nats-server.ts';

/*
 * One service on a private nats-server and a fresh database, with what every service's integration tests do to
 * it: call its subjects as a person (or as the system), expect a refusal, append events as another service would
 * (tenant memberships first of all), and stop everything in reverse order even when the start fails half-way.
 * A service's own stack (`services/<name>/src/testing`) adds its stand-ins on top.
 */

/** A person with a user id derived from `name` (`alice` → `usr_alice000…`), not a platform admin. */
export const person = (name: string, extra: Partial<Principal> = {}): Principal => ({
  userId: `usr_${name.padEnd(20, '0')}`,
  email: `${name}@example.com`,
  platformAdmin: false,
  via: 'session',
  ...extra,
});

/** The request metadata the gateway sends for `as`; the system actor `test` when nobody. */
export const metaFor = (as: Principal | undefined): RequestMeta => ({
  actor: as ? { kind: 'user', id: as.userId } : systemActor('test'),
  correlationId: newId(),
  ...(as ? { principal: as } : {}),
});

/** Runs cleanups in reverse order of registration, each once, ignoring their failures. */
export type Cleanups = { add(cleanup: () => Promise<unknown>): void; run(): Promise<void> };

export function cleanups(): Cleanups {
  const pending: (() => Promise<unknown>)[] = [];
  return {
    add: (cleanup) => void pending.push(cleanup),
    async run() {
      for (const cleanup of pending.splice(0).reverse()) await cleanup().catch(() => {});
    },
  };
}

export type ServiceStack<DB, Config> = {
  nats: TestNatsServer;
  db: TestDatabase;
  service: RunningService<DB, Config>;
  /** Registered by the service's own stack: runs (in reverse order) before the service and its servers stop. */
  cleanups: Cleanups;
  call<T = unknown>(subject: string, data: unknown, as?: Principal): Promise<T>;
  /** Resolves with the error the call is refused with; fails when it succeeds. */
  refused(subject: string, data: unknown, as?: Principal): Promise<{ code: ErrorCode; message: string }>;
  /** Appends one event as the service of `context` would; returns its stream sequence. */
  append(context: Context, aggregateId: AggregateId, type: string, data: object, tenantId?: string): Promise<number>;
  /** A tenant and its members (by `person` name, the first is the owner), as the tenants service records them. */
  tenant(tenantId: string, members: Record<string, TenantRole>): Promise<void>;
  stop(): Promise<void>;
};

export type ServiceStackOptions = {
  /** Variables on top of the base ones (NATS, database, silent log, a state directory, a secrets key). */
  env?: Record<string, string>;
  clock?: () => Date;
  /** How long `call` waits for an answer. */
  timeoutMs?: number;
};

/** Starts `definition` on a private nats-server and a fresh database named after the service. */
export async function startServiceStack<DB, E extends z.ZodObject>(
  definition: ServiceDefinition<DB, E>,
  options: ServiceStackOptions = {},
): Promise<ServiceStack<DB, z.infer<E>>> {
  const stack = cleanups();
  try {
    const nats = await startNatsServer();
    stack.add(() => nats.stop());
    const db = await createTestDatabase(`agentpod_${definition.name}`);
    stack.add(() => db.drop());
    const stateDir = await mkdtemp(join(tmpdir(), `agentpod-${definition.name}-`));
    stack.add(() => rm(stateDir, { recursive: true, force: true }));
    const service = await runService(definition, {
      env: {
        AGENTPOD_NATS_URL: nats.url,
        AGENTPOD_DATABASE_URL: db.url,
        AGENTPOD_LOG_LEVEL: 'silent',
        AGENTPOD_STATE_DIR: stateDir,
        AGENTPOD_SECRETS_KEY: randomBytes(32).toString('base64'),
        ...options.env,
      },
      ...(options.clock ? { clock: options.clock } : {}),
    });
    stack.add(() => service.stop());
    const { runtime } = service;
    // Added last, so what the service's own stack registers stops before the service does.
    const own = cleanups();
    stack.add(() => own.run());

    const positions = new Map<string, AggregatePosition>();
    const append: ServiceStack<DB, z.infer<E>>['append'] = async (context, aggregateId, type, data, tenantId) => {
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
      request<T>(runtime.nc, subject, data, metaFor(as), { timeoutMs: options.timeoutMs ?? 15_000 });
    return {
      nats,
      db,
      service,
      cleanups: own,
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
      stop: () => stack.run(),
    };
  } catch (error) {
    await stack.run();
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
