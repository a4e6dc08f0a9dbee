import {
  AppError,
  CountTenantPods,
  commandSubject,
  type ErrorCode,
  IdentityCommands,
  newId,
  PodCommands,
  type Principal,
  querySubject,
  type RequestMeta,
  streamName,
  systemActor,
} from '@agentpod/contracts';
import { createLogger, handler, type RunningService, request, runService, serveRequests } from '@agentpod/kit';
import {
  createTestDatabase,
  type SmtpSink,
  startNatsServer,
  startSmtpSink,
  type TestDatabase,
  type TestNatsServer,
} from '@agentpod/kit/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { TenantsDb } from './db.ts';
import type { TenantsEnv } from './env.ts';
import { tenantsService } from './index.ts';

/*
 * The tenants service on a private nats-server and a fresh database, with an SMTP sink (or none: local mode).
 * Identity and pods are not running: stand-ins answer identity.cmd.ensureUser (recording the addresses) and
 * pods.qry.countTenantPods (from `podCounts`) as real NATS peers.
 */

export const PUBLIC_URL = 'https://agentpod.example';

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
  sink: SmtpSink | undefined;
  tenants: RunningService<TenantsDb, TenantsEnv>;
  nc: NatsConnection;
  /** Addresses identity.cmd.ensureUser was called with. */
  ensured: string[];
  /** What the pods stand-in answers per tenant (0 when absent), and who asked. */
  podCounts: Map<string, number>;
  podCountCallers: RequestMeta['actor'][];
  call<T = unknown>(subject: string, data: unknown, as?: Principal): Promise<T>;
  /** Resolves with the error code the call is refused with; fails when it succeeds. */
  refused(subject: string, data: unknown, as?: Principal): Promise<ErrorCode>;
  /** Sequence of the last event in a context's stream. */
  lastSeq(context: 'tenants' | 'identity'): Promise<number>;
  stop(): Promise<void>;
};

function metaFor(as: Principal | undefined): RequestMeta {
  const actor = !as
    ? systemActor('test')
    : as.via === 'token'
      ? { kind: 'token' as const, id: as.tokenId ?? 'tok' }
      : { kind: 'user' as const, id: as.userId };
  return { actor, correlationId: newId(), ...(as ? { principal: as } : {}) };
}

export async function startStack(options: { smtp: boolean }): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const db = await createTestDatabase('agentpod_tenants');
    cleanups.push(() => db.drop());
    const sink = options.smtp ? await startSmtpSink() : undefined;
    if (sink) cleanups.push(() => sink.stop());
    const env = {
      AGENTPOD_NATS_URL: nats.url,
      AGENTPOD_DATABASE_URL: db.url,
      AGENTPOD_LOG_LEVEL: 'warn',
      AGENTPOD_PUBLIC_URL: PUBLIC_URL,
      ...(sink ? { AGENTPOD_SMTP_URL: sink.url } : {}),
    };
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const logger = createLogger('stand-in', 'silent');
    const ensured: string[] = [];
    const podCounts = new Map<string, number>();
    const podCountCallers: RequestMeta['actor'][] = [];
    const standIns = [
      serveRequests({
        nc,
        subject: commandSubject('identity', 'ensureUser'),
        queue: 'identity',
        logger,
        handler: handler(IdentityCommands.ensureUser, async ({ email }) => {
          ensured.push(email);
          return { id: person(email.split('@')[0] ?? 'x').userId, email, platformAdmin: false, disabled: false };
        }),
      }),
      serveRequests({
        nc,
        subject: querySubject('pods', 'countTenantPods'),
        queue: 'pods',
        logger,
        handler: handler(CountTenantPods, async ({ tenantId }, meta) => {
          podCountCallers.push(meta.actor);
          return { count: podCounts.get(tenantId) ?? 0 };
        }),
      }),
      serveRequests({
        nc,
        subject: commandSubject('pods', 'deleteTenantPods'),
        queue: 'pods',
        logger,
        handler: handler(PodCommands.deleteTenantPods, async ({ tenantId }, meta) => {
          podCountCallers.push(meta.actor);
          const deleted = podCounts.get(tenantId) ?? 0;
          podCounts.set(tenantId, 0);
          return { deleted };
        }),
      }),
    ];
    cleanups.push(async () => {
      for (const subscription of standIns) subscription.unsubscribe();
    });
    const tenants = await runService(tenantsService, { env });
    cleanups.push(() => tenants.stop());
    const jsm = await jetstreamManager(nc);

    const call = <T>(subject: string, data: unknown, as?: Principal) =>
      request<T>(nc, subject, data, metaFor(as), { timeoutMs: 15_000 });
    return {
      nats,
      db,
      sink,
      tenants,
      nc,
      ensured,
      podCounts,
      podCountCallers,
      call,
      async refused(subject, data, as) {
        try {
          await call(subject, data, as);
        } catch (error) {
          if (error instanceof AppError) return error.code;
          throw error;
        }
        throw new Error(`${subject} succeeded; it should have been refused`);
      },
      lastSeq: async (context) => (await jsm.streams.info(streamName(context))).state.last_seq,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
