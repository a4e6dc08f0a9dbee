import { AppError, type EventSchemas, type Principal, type RequestMeta } from '@agentpod/contracts';
import {
  AggregateRepository,
  type CommandOutcome,
  type Decision,
  type EventStore,
  executeCommand,
  type Mailer,
  type ServiceRuntime,
} from '@agentpod/kit';
import { tokenAggregate } from './api-token/events.ts';
import type { IdentityDatabase } from './db.ts';
import { emailAggregate } from './email/events.ts';
import type { IdentityEnv } from './env.ts';
import { linkAggregate } from './magic-link/events.ts';
import type { SignInRequestLog } from './magic-link/request-log.ts';
import type { MailQueue } from './mail-queue.ts';
import { platformAggregate } from './platform/events.ts';
import { sessionAggregate } from './session/events.ts';
import { userAggregate } from './user/events.ts';

export type IdentityRuntime = ServiceRuntime<IdentityDatabase, IdentityEnv>;

export function createRepositories(store: EventStore) {
  return {
    users: new AggregateRepository(store, userAggregate),
    emails: new AggregateRepository(store, emailAggregate),
    platform: new AggregateRepository(store, platformAggregate),
    links: new AggregateRepository(store, linkAggregate),
    sessions: new AggregateRepository(store, sessionAggregate),
    tokens: new AggregateRepository(store, tokenAggregate),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;

/** Everything a handler uses, built once at start-up. */
export type IdentityDeps = {
  runtime: IdentityRuntime;
  repos: Repositories;
  /** Its `mode` says whether links are emailed (smtp) or handed back to the gateway to print (local). */
  mailer: Mailer;
  /** Sends emails after the reply (SMTP mode). */
  mail: MailQueue;
  /** The per-address limit on sign-in link requests. */
  signInRequests: SignInRequestLog;
};

/** Load → decide → append on one aggregate, with the service's clock. */
export function execute<S, ES extends EventSchemas>(
  deps: IdentityDeps,
  repository: AggregateRepository<S, ES>,
  aggregateId: string,
  meta: RequestMeta,
  decide: (state: S, now: Date) => Decision<ES>,
): Promise<CommandOutcome<S>> {
  return executeCommand({
    store: deps.runtime.store,
    repository,
    aggregateId,
    meta,
    decide,
    clock: deps.runtime.clock,
  });
}

/** Read-your-writes: waits until the read models hold every event these commands stored (interfaces §3). */
export async function settle(deps: IdentityDeps, ...outcomes: CommandOutcome<unknown>[]): Promise<void> {
  const seq = Math.max(0, ...outcomes.flatMap((outcome) => outcome.events.map((event) => event.seq)));
  if (seq > 0) await deps.runtime.caughtUp('identity', seq);
}

/** The signed-in caller; `unauthenticated` when the request carries none. */
export function requirePrincipal(meta: RequestMeta): Principal {
  if (!meta.principal) throw new AppError('unauthenticated', 'sign in first');
  return meta.principal;
}

/** The request's meta with the user as actor: for what a user does on their own behalf (signing in). */
export const asUser = (meta: RequestMeta, userId: string): RequestMeta => ({
  ...meta,
  actor: { kind: 'user', id: userId },
});
