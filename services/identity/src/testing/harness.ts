import { randomUUID } from 'node:crypto';
import {
  commandSubject,
  IdentityCommands,
  type IdentityResult,
  type IdentityResults,
  type Principal,
  querySubject,
  type RequestMeta,
  streamName,
} from '@agentpod/contracts';
import { type RunningService, request, runService } from '@agentpod/kit';
import {
  createTestDatabase,
  type SmtpSink,
  startNatsServer,
  startSmtpSink,
  type TestDatabase,
  type TestNatsServer,
} from '@agentpod/kit/testing';
import { pino } from 'pino';
import type { IdentityDatabase } from '../db.ts';
import type { IdentityEnv } from '../env.ts';
import { identityService } from '../index.ts';

/*
 * The identity service on a private nats-server, a fresh database and (in SMTP mode) a local SMTP sink, with a
 * movable clock and every log line captured, for the integration tests. Not part of the service.
 */

export const PUBLIC_URL = 'https://agentpod.example.test';
const LINK = /https:\/\/agentpod\.example\.test\/auth\/callback#token=(apl_[A-Za-z0-9_-]+)/;

type Name = keyof typeof IdentityResults;

export type Harness = {
  service: RunningService<IdentityDatabase, IdentityEnv>;
  smtp: SmtpSink | undefined;
  /** Every log line the service wrote. */
  logs: string[];
  /** Every secret the tests saw (link, session and API tokens), to look for where they must not be. */
  secrets: Set<string>;
  /** Moves the service's clock forward. */
  advance(ms: number): void;
  /** Calls `identity.cmd.<name>` or `identity.qry.<name>` as `principal` (or as the gateway, with none). */
  call<K extends Name>(name: K, data: unknown, principal?: Principal): Promise<IdentityResult<K>>;
  /** The sign-in link token of the next email to `email` (SMTP mode). */
  nextLinkToken(email: string): Promise<string>;
  /** Requests a link and redeems it: a new session and its principal. */
  signIn(email: string): Promise<{ sessionToken: string; principal: Principal }>;
  /** Every message of a stream and every row of the identity and identity_ops schemas, as text. */
  storedText(): Promise<string[]>;
  stop(): Promise<void>;
};

export function metaFor(principal?: Principal): RequestMeta {
  const actor = principal
    ? {
        kind: principal.via === 'token' ? ('token' as const) : ('user' as const),
        id: principal.tokenId ?? principal.userId,
      }
    : { kind: 'system' as const, id: 'gateway' };
  return { actor, correlationId: randomUUID(), ...(principal ? { principal } : {}) };
}

/**
 * `smtp`: true = a local SMTP sink; false = local mode (no SMTP); `{ url }` = that SMTP server (e.g. one that is
 * down).
 */
export async function startIdentity(options: { smtp: boolean | { url: string } }): Promise<Harness> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const nats: TestNatsServer = await startNatsServer();
    cleanups.push(() => nats.stop());
    const database: TestDatabase = await createTestDatabase('agentpod_identity');
    cleanups.push(() => database.drop());
    const smtp = options.smtp === true ? await startSmtpSink() : undefined;
    const smtpUrl = typeof options.smtp === 'object' ? options.smtp.url : smtp?.url;
    if (smtp) cleanups.push(() => smtp.stop());
    const logs: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
    let offset = 0;
    const service = await runService(identityService, {
      env: {
        AGENTPOD_NATS_URL: nats.url,
        AGENTPOD_DATABASE_URL: database.url,
        AGENTPOD_PUBLIC_URL: PUBLIC_URL,
        ...(smtpUrl ? { AGENTPOD_SMTP_URL: smtpUrl } : {}),
      },
      clock: () => new Date(Date.now() + offset),
      logger,
    });
    cleanups.push(() => service.stop());
    const secrets = new Set<string>();

    const call = <K extends Name>(name: K, data: unknown, principal?: Principal) => {
      const subject = Object.hasOwn(IdentityCommands, name)
        ? commandSubject('identity', name)
        : querySubject('identity', name);
      return request<IdentityResult<K>>(service.runtime.nc, subject, data, metaFor(principal));
    };
    const nextLinkToken = async (email: string) => {
      if (!smtp) throw new Error('no SMTP sink in local mode');
      const mail = await smtp.next(email);
      const token = LINK.exec(mail.text)?.[1];
      if (!token) throw new Error(`no sign-in link in the email: ${mail.text}`);
      secrets.add(token);
      return token;
    };
    const signIn = async (email: string) => {
      const reply = await call('requestMagicLink', { email });
      const token = reply.localLink ? (LINK.exec(reply.localLink)?.[1] ?? '') : await nextLinkToken(email);
      secrets.add(token);
      const { sessionToken } = await call('redeemMagicLink', { token });
      secrets.add(sessionToken);
      const principal = await call('authenticate', { credential: sessionToken });
      return { sessionToken, principal };
    };
    const storedText = async () => {
      const { runtime } = service;
      const texts: string[] = [];
      for (const context of ['identity', 'tenants'] as const) {
        const last = (await runtime.jsm.streams.info(streamName(context))).state.last_seq;
        for (let seq = 1; seq <= last; seq++) {
          const message = await runtime.jsm.direct.getMessage(streamName(context), { seq });
          if (message) texts.push(message.string());
        }
      }
      const tables = await runtime.sql<{ table_schema: string; table_name: string }[]>`
        select table_schema, table_name from information_schema.tables
        where table_schema in ('identity', 'identity_ops')`;
      for (const { table_schema: schema, table_name: table } of tables) {
        const rows = await runtime.sql.unsafe<{ row: string }[]>(
          `select row_to_json(t)::text as row from "${schema}"."${table}" t`,
        );
        texts.push(...rows.map((r) => r.row));
      }
      return texts;
    };
    return {
      service,
      smtp,
      logs,
      secrets,
      advance: (ms) => {
        offset += ms;
      },
      call,
      nextLinkToken,
      signIn,
      storedText,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
