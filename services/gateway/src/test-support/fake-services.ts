import {
  AppError,
  commandSubject,
  type Principal,
  querySubject,
  type RequestMeta,
  type TenantRole,
} from '@agentpod/contracts';
import { createLogger, handler, serveRequests } from '@agentpod/kit';
import { startNatsServer, type TestNatsServer } from '@agentpod/kit/testing';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../app.ts';
import type { LocalLinkNotice } from '../local-links.ts';
import type { GatewayOptions } from '../options.ts';

/*
 * Stand-ins for identity and tenants in the gateway's own tests: real NATS peers answering on the real subjects
 * (never a mocked connection), with a table of credentials and memberships, recording every request they get.
 */

export const USERS = {
  admin: 'usr_admin0000000000000000000',
  owner: 'usr_owner0000000000000000000',
  member: 'usr_member000000000000000000',
  viewer: 'usr_viewer000000000000000000',
  outsider: 'usr_outsider0000000000000000',
} as const;

const session = (userId: string, platformAdmin = false): Principal => ({
  userId,
  email: `${userId}@example.com`,
  platformAdmin,
  via: 'session',
  sessionId: `ses_${userId}`,
});

/** Credentials the fake identity service accepts, and whom they stand for. */
export const CREDENTIALS: Record<string, Principal> = {
  aps_admin_session_0123456789: session(USERS.admin, true),
  aps_owner_session_0123456789: session(USERS.owner),
  aps_member_session_012345678: session(USERS.member),
  aps_viewer_session_012345678: session(USERS.viewer),
  aps_outsider_session_0123456: session(USERS.outsider),
  apt_owner_viewer_token_01234: {
    ...session(USERS.owner),
    via: 'token',
    sessionId: undefined,
    tokenId: 'tok_ownerviewer000000000000',
    tokenRole: 'viewer',
  },
  apt_owner_member_token_01234: {
    ...session(USERS.owner),
    via: 'token',
    sessionId: undefined,
    tokenId: 'tok_ownermember000000000000',
    tokenRole: 'member',
  },
};

export const MEMBERSHIPS: Record<string, Record<string, TenantRole>> = {
  [USERS.owner]: { acme: 'owner' },
  [USERS.member]: { acme: 'member' },
  [USERS.viewer]: { acme: 'viewer' },
  [USERS.outsider]: { other: 'owner' },
};

export type Received = { subject: string; meta: RequestMeta; data: unknown };
type Answer = (data: unknown, meta: RequestMeta) => unknown;

export type FakeWorld = {
  nats: TestNatsServer;
  nc: NatsConnection;
  app: FastifyInstance;
  /** Every request the fake services received, oldest first. */
  received: Received[];
  /** Links the gateway announced in local mode. */
  notices: LocalLinkNotice[];
  /** Replaces (or adds) the answer on one subject. */
  answer(subject: string, fn: Answer): Promise<void>;
  /** A second gateway on the same NATS, with other options. */
  gateway(options: Partial<GatewayOptions>): FastifyInstance;
  close(): Promise<void>;
};

const defaultAnswers = (): Record<string, Answer> => ({
  [querySubject('identity', 'authenticate')]: (data) => {
    const principal = CREDENTIALS[(data as { credential: string }).credential];
    if (!principal) throw new AppError('unauthenticated', 'unknown credential');
    return principal;
  },
  [querySubject('tenants', 'membership')]: (data) => {
    const { tenantId, userId } = data as { tenantId: string; userId: string };
    const role = MEMBERSHIPS[userId]?.[tenantId];
    if (!role) throw new AppError('not_found', `no tenant ${tenantId}`);
    return { tenantId, userId, role };
  },
  [querySubject('tenants', 'memberships')]: (data) => {
    const { userId } = data as { userId: string };
    return { memberships: Object.entries(MEMBERSHIPS[userId] ?? {}).map(([tenantId, role]) => ({ tenantId, role })) };
  },
  [commandSubject('identity', 'requestMagicLink')]: () => ({
    localLink: 'http://127.0.0.1:8080/auth/callback#token=apl_local_link_token_0123456789',
  }),
  [querySubject('tenants', 'listTenants')]: () => ({ tenants: [] }),
  [commandSubject('identity', 'createApiToken')]: () => {
    throw new AppError('conflict', 'not in this fake');
  },
});

export async function startFakeWorld(options: Partial<GatewayOptions> = {}): Promise<FakeWorld> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const logger = createLogger('fake', 'silent');
  const received: Received[] = [];
  const notices: LocalLinkNotice[] = [];
  const answers = defaultAnswers();
  const subscriptions: Subscription[] = [];
  const served = new Set<string>();
  const serve = (subject: string) => {
    if (served.has(subject)) return;
    served.add(subject);
    subscriptions.push(
      serveRequests({
        nc,
        subject,
        queue: 'fake',
        logger,
        handler: handler(z.unknown(), async (data, meta) => {
          received.push({ subject, meta, data });
          const fn = answers[subject];
          if (!fn) throw new AppError('unavailable', `no fake answer on ${subject}`);
          return fn(data, meta);
        }),
      }),
    );
  };
  for (const subject of Object.keys(answers)) serve(subject);
  const apps: FastifyInstance[] = [];
  const gateway = (extra: Partial<GatewayOptions>) => {
    const app = buildApp({
      nc,
      logger: createLogger('gateway', 'silent'),
      options: { announce: (notice) => notices.push(notice), ...options, ...extra },
    });
    apps.push(app);
    return app;
  };
  const app = gateway({});
  await nc.flush();
  return {
    nats,
    nc,
    app,
    received,
    notices,
    gateway,
    async answer(subject, fn) {
      answers[subject] = fn;
      serve(subject);
      await nc.flush();
    },
    async close() {
      for (const each of apps) await each.close();
      for (const subscription of subscriptions) subscription.unsubscribe();
      await nc.close();
      await nats.stop();
    },
  };
}
