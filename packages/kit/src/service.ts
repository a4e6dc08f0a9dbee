import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Context,
  commandSubject,
  HealthReport,
  hasPlatformAdmin,
  healthSubject,
  type RequestMeta,
  type ServiceName,
} from '@agentpod/contracts';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { BaseEnv, parseEnv } from './config.ts';
import { connectNats, connectPostgres, type Sql } from './connections.ts';
import { EventStore } from './event-store.ts';
import { handler, type RequestHandler, serveRequests } from './handlers.ts';
import { LeaderLocks } from './leader-locks.ts';
import { createLogger, type Logger } from './logger.ts';
import { type Migrations, migrateSchema } from './migrations.ts';
import type { Projection } from './projection.ts';
import { Projector } from './projector.ts';
import { type ReplayReport, replaySchema } from './replay.ts';
import { ensureStreams } from './streams.ts';
import { startTelemetry } from './telemetry.ts';

export const AGENTPOD_VERSION = '0.1.0';

export type ServiceDefinition<DB, E extends z.ZodObject = typeof BaseEnv> = {
  name: ServiceName;
  /** Streams this service appends to or reads; each is created if missing. */
  streams: readonly Context[];
  /**
   * The service's own PostgreSQL schema and its migrations; absent for services without a read model. `keep`:
   * tables that are not read models (metric samples): a replay leaves them out of its comparison and carries
   * their rows over into the rebuilt schema when it swaps.
   */
  database?: { schema: string; migrations: Migrations; keep?: readonly string[] };
  projections?: readonly Projection<DB>[];
  /** The environment schema: BaseEnv extended with the service's own variables. */
  env?: E;
  /** Registers the service's command and query handlers and anything else it runs. */
  register?: (runtime: ServiceRuntime<DB, z.infer<E>>) => Promise<void> | void;
};

/** What a service's code is given: every connection and helper, created once, closed at shutdown. */
export type ServiceRuntime<DB, Config = BaseEnv> = {
  name: ServiceName;
  instanceId: string;
  config: Config;
  logger: Logger;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: EventStore;
  /** Present when the definition has a `database`. */
  db: Kysely<DB>;
  sql: Sql;
  clock: () => Date;
  /** Serves a command or query subject in this service's queue group. */
  serve: <I, O>(subject: string, requestHandler: RequestHandler<I, O>) => void;
  projectors: Projector<DB>[];
  /** This process's advisory locks, on one connection (projections use it; so may a service's own leader). */
  locks: LeaderLocks;
  /**
   * Read-your-writes: resolves once every projection of this service that reads `context` has applied stream
   * sequence `seq`. Command handlers await it before replying, so a caller's next query sees its own change.
   * Fails with `timeout` when the read models lag by more than `timeoutMs`: the change is stored regardless.
   */
  caughtUp: (context: Context, seq: number, timeoutMs?: number) => Promise<void>;
  /** Rebuilds the read models from the log; with `swap`, pauses the projectors and swaps the result in. */
  replay: (options?: { compare?: boolean; swap?: boolean }) => Promise<ReplayReport>;
  /** Runs `fn` at shutdown, before connections close, in reverse order of registration. */
  onStop: (fn: () => Promise<void> | void) => void;
};

export type RunningService<DB, Config> = { runtime: ServiceRuntime<DB, Config>; stop: () => Promise<void> };

/**
 * Starts a service: parses its environment (failing with the name of a bad variable), connects to NATS and
 * PostgreSQL with retry, ensures its streams and schema, starts its projections, serves its health query and
 * its handlers. `stop()` (also run on SIGTERM/SIGINT when `handleSignals`) drains NATS and closes the pool.
 */
export async function runService<DB, E extends z.ZodObject = typeof BaseEnv>(
  definition: ServiceDefinition<DB, E>,
  options: { env?: NodeJS.ProcessEnv; handleSignals?: boolean; clock?: () => Date; logger?: Logger } = {},
): Promise<RunningService<DB, z.infer<E>>> {
  const config = parseEnv(definition.env ?? BaseEnv, options.env ?? process.env) as z.infer<E> & BaseEnv;
  const logger = options.logger ?? createLogger(definition.name, config.AGENTPOD_LOG_LEVEL);
  const stopTelemetry = await startTelemetry(definition.name, config.AGENTPOD_OTLP_URL);
  const started = Date.now();
  const instanceId = randomUUID();
  const stopHooks: (() => Promise<void> | void)[] = [];
  const subscriptions: Subscription[] = [];

  const nc = await connectNats({ url: config.AGENTPOD_NATS_URL, name: `agentpod-${definition.name}`, logger });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStreams(jsm, definition.streams);
  const schema = definition.database?.schema;
  const { sql, db } = await connectPostgres<DB>({
    url: config.AGENTPOD_DATABASE_URL,
    logger,
    ...(schema ? { schema } : {}),
    name: `agentpod-${definition.name}`,
    maxConnections: config.AGENTPOD_DATABASE_POOL,
  });
  if (definition.database) {
    const applied = await migrateSchema({ sql, db: db as never, ...definition.database });
    if (applied.length > 0) logger.info({ schema, applied }, 'migrated schema');
  }

  // One connection holds the advisory locks of all this service's projections (one backend, not one each).
  const locks = new LeaderLocks({ sql, logger });
  const projectors = (definition.projections ?? []).map(
    (projection) =>
      new Projector<DB>({
        service: definition.name,
        schema: schema ?? definition.name,
        projection,
        db,
        sql,
        locks,
        js,
        jsm,
        logger,
      }),
  );

  const runtime: ServiceRuntime<DB, z.infer<E>> = {
    name: definition.name,
    instanceId,
    config,
    logger,
    nc,
    js,
    jsm,
    store: new EventStore(js, jsm),
    db,
    sql,
    clock: options.clock ?? (() => new Date()),
    serve: (subject, requestHandler) => {
      subscriptions.push(serveRequests({ nc, subject, queue: definition.name, handler: requestHandler, logger }));
    },
    projectors,
    locks,
    caughtUp: async (context, seq, timeoutMs = 5_000) => {
      const readers = projectors.filter((projector) => projector.context === context);
      try {
        await Promise.all(readers.map((projector) => projector.waitFor(seq, timeoutMs)));
      } catch (error) {
        throw new AppError('timeout', `the change is stored, but the ${context} read models lag behind`, {
          cause: error,
        });
      }
    },
    replay: async ({ compare = true, swap = false } = {}) => {
      if (!definition.database) throw new Error(`${definition.name} has no read models to replay`);
      if (swap) await Promise.all(projectors.map((p) => p.stop()));
      try {
        return await replaySchema({
          databaseUrl: config.AGENTPOD_DATABASE_URL,
          schema: definition.database.schema,
          migrations: definition.database.migrations,
          keep: definition.database.keep ?? [],
          projections: definition.projections ?? [],
          js,
          jsm,
          logger,
          compare,
          swap,
        });
      } finally {
        if (swap) for (const projector of projectors) projector.start();
      }
    },
    onStop: (fn) => stopHooks.push(fn),
  };

  if (definition.database && definition.name !== 'gateway') {
    runtime.serve(
      commandSubject(definition.name, 'replay'),
      handler(
        z.object({ compare: z.boolean().default(true), swap: z.boolean().default(true) }).strict(),
        async (input, meta) => {
          assertPlatformAdmin(meta);
          return runtime.replay(input);
        },
      ),
    );
  }
  await definition.register?.(runtime);
  // Served last: a service that answers its health query has every handler in place (waiting for it is how the
  // supervisor and the tests know the service is ready).
  runtime.serve(
    healthSubject(definition.name),
    handler(z.unknown(), async () => healthReport(runtime, started)),
  );
  for (const projector of projectors) projector.start();
  logger.info({ instanceId, version: AGENTPOD_VERSION }, `${definition.name} is ready`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      // Stop taking requests first, so no request starts work (a mail, an agent command) that a hook has
      // already waited for.
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const hook of stopHooks.reverse()) await hook();
      await Promise.all(projectors.map((p) => p.stop()));
      await locks.close();
      await nc.drain().catch(() => {});
      await sql.end({ timeout: 5 });
      await stopTelemetry();
      logger.info('stopped');
    })();
    return stopping;
  };
  if (options.handleSignals) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'unclean shutdown');
            process.exit(1);
          },
        );
      });
    }
  }
  return { runtime, stop };
}

/**
 * Adds a reactor to the runtime: a projection that is led and checkpointed like the others but appends to the log
 * rather than writing a read model, so it is not among the definition's projections (a replay must not run it).
 * Joining the runtime's projectors, it is started, stopped, paused during a replay and reported in health like
 * them. Its checkpoint lives in the schema named after the service.
 */
export function addReactor<DB, Config>(
  runtime: ServiceRuntime<DB, Config>,
  projection: Projection<DB>,
  options: { batchSize?: number } = {},
): void {
  runtime.projectors.push(
    new Projector<DB>({
      service: runtime.name,
      schema: runtime.name,
      projection,
      db: runtime.db,
      sql: runtime.sql,
      locks: runtime.locks,
      js: runtime.js,
      jsm: runtime.jsm,
      logger: runtime.logger,
      ...options,
    }),
  );
}

/** Platform-wide operations: a platform admin (session or unscoped admin token) or the system itself. */
export function assertPlatformAdmin(meta: RequestMeta): void {
  if (meta.actor.kind === 'system') return;
  if (!meta.principal || !hasPlatformAdmin(meta.principal)) {
    throw new AppError('forbidden', 'only a platform admin may do this');
  }
}

async function timed(check: () => Promise<unknown>): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const start = performance.now();
  try {
    await check();
    return { ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - start), error: (error as Error).message };
  }
}

async function healthReport<DB, C>(runtime: ServiceRuntime<DB, C>, started: number): Promise<HealthReport> {
  const dependencies = {
    nats: await timed(() => runtime.nc.rtt()),
    postgres: await timed(() => runtime.sql`select 1`),
  };
  const ok = Object.values(dependencies).every((d) => d.ok);
  return HealthReport.parse({
    service: runtime.name,
    status: ok ? 'ok' : 'degraded',
    version: AGENTPOD_VERSION,
    instanceId: runtime.instanceId,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    dependencies,
    projections: runtime.projectors.map((p) => p.status()),
  });
}

/** Entry point of a service process: runs it with signal handling and exits non-zero with a clear message on failure. */
export async function main<DB, E extends z.ZodObject>(definition: ServiceDefinition<DB, E>): Promise<void> {
  try {
    await runService(definition, { handleSignals: true });
  } catch (error) {
    process.stderr.write(`${definition.name}: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
