import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Logger } from './logger.ts';
import { type Backoff, retry } from './retry.ts';

export type Sql = postgres.Sql;

const CONNECT_BACKOFF: Backoff = { initialMs: 250, maxMs: 5_000, jitter: 0.2 };

/** Hides credentials when a URL is printed. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Connects to NATS, retrying with backoff until it answers (or `attempts` run out), logging which server is
 * unreachable. Once connected the client reconnects by itself forever.
 */
export async function connectNats(options: {
  url: string;
  name: string;
  logger: Logger;
  attempts?: number;
  signal?: AbortSignal;
}): Promise<NatsConnection> {
  const { url, name, logger } = options;
  const nc = await retry(
    () =>
      connect({
        servers: url.split(','),
        name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        timeout: 5_000,
      }),
    {
      ...CONNECT_BACKOFF,
      attempts: options.attempts,
      signal: options.signal,
      onRetry: (error, attempt, delayMs) =>
        logger.warn(
          { dependency: 'nats', url: redactUrl(url), attempt: attempt + 1, retryInMs: delayMs },
          `NATS is unreachable at ${redactUrl(url)} (${reason(error)}); retrying`,
        ),
    },
  );
  logger.info({ dependency: 'nats', server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') logger.warn({ dependency: 'nats' }, 'NATS connection lost; reconnecting');
      if (status.type === 'reconnect') logger.info({ dependency: 'nats' }, 'NATS connection restored');
    }
  })();
  return nc;
}

/** A postgres.js pool and a kysely instance over it. `DB` describes the tables kysely may query. */
export type Database<DB = unknown> = { sql: Sql; db: Kysely<DB> };

export async function connectPostgres<DB = unknown>(options: {
  url: string;
  logger: Logger;
  /** Pool size; 4 by default (see AGENTPOD_DATABASE_POOL). */
  maxConnections?: number;
  /** Schema that unqualified table names resolve to (then `public`): each service's own schema. */
  schema?: string;
  /** Application name shown in pg_stat_activity. */
  name?: string;
  attempts?: number;
  signal?: AbortSignal;
}): Promise<Database<DB>> {
  const { url, logger } = options;
  const sql = postgres(url, {
    max: options.maxConnections ?? 4,
    connect_timeout: 5,
    onnotice: () => {},
    connection: {
      ...(options.schema ? { search_path: `"${options.schema}", public` } : {}),
      ...(options.name ? { application_name: options.name } : {}),
    },
    // bigint columns (stream sequences) come back as JS numbers: sequences stay far below 2^53.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
  await retry(() => sql`select 1`, {
    ...CONNECT_BACKOFF,
    attempts: options.attempts,
    signal: options.signal,
    onRetry: (error, attempt, delayMs) =>
      logger.warn(
        { dependency: 'postgres', url: redactUrl(url), attempt: attempt + 1, retryInMs: delayMs },
        `PostgreSQL is unreachable at ${redactUrl(url)} (${reason(error)}); retrying`,
      ),
  }).catch(async (error: unknown) => {
    await sql.end({ timeout: 1 });
    throw error;
  });
  logger.info({ dependency: 'postgres', url: redactUrl(url) }, 'connected to PostgreSQL');
  const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: sql }) });
  return { sql, db };
}
