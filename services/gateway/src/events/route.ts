import { PassThrough } from 'node:stream';
import {
  AppError,
  CONTEXTS,
  type EventEnvelope,
  effectiveRole,
  MembershipsResult,
  Principal,
  querySubject,
  type RequestMeta,
  type routes,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { jetstream } from '@nats-io/jetstream';
import { type ApiDeps, principalOf, type RouteContext, type RouteHandlers } from '../api/context.ts';
import { byTime, closeFeeds, drainBacklog, type Feed, follow, LastN, openFeed } from './feed.ts';

/** Tenants whose events the caller may read: every event for a platform admin, else their tenants' events. */
type Scope = 'all' | ReadonlySet<string>;

async function scopeOf(principal: Principal, ask: (subject: string, data: unknown) => Promise<unknown>) {
  if (principal.platformAdmin) {
    return principal.tokenTenantId === undefined ? 'all' : new Set([principal.tokenTenantId]);
  }
  const answer = MembershipsResult.parse(
    await ask(querySubject('tenants', 'memberships'), { userId: principal.userId }),
  );
  return new Set(
    answer.memberships
      .filter(({ tenantId, role }) => effectiveRole(principal, tenantId, role) !== undefined)
      .map(({ tenantId }) => tenantId),
  );
}

/** Events without a tenant (users, sessions, platform changes) are for platform admins only. */
const inScope = (scope: Scope, envelope: EventEnvelope): boolean =>
  scope === 'all' || (envelope.tenantId !== undefined && scope.has(envelope.tenantId));

type EventsContext = RouteContext<(typeof routes)['events']>;

export const eventHandlers: Pick<RouteHandlers, 'events'> = {
  async events(context) {
    const principal = principalOf(context);
    const { query, deps } = context;
    let scope: Scope = await scopeOf(principal, context.call);
    if (query.tenant && scope !== 'all' && !scope.has(query.tenant)) {
      throw new AppError('not_found', `no tenant ${query.tenant}`);
    }
    const matches = (envelope: EventEnvelope) =>
      (!query.type || envelope.type === query.type) &&
      (!query.tenant || envelope.tenantId === query.tenant) &&
      inScope(scope, envelope);

    const js = jetstream(deps.nc);
    const opened = await Promise.allSettled(
      (query.context ? [query.context] : CONTEXTS).map((c) => openFeed(js, c, query.aggregate)),
    );
    const feeds = opened.flatMap((result) => (result.status === 'fulfilled' && result.value ? [result.value] : []));
    const failed = opened.find((result) => result.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      const backlog = await Promise.all(
        feeds.map(async (feed) => {
          const last = new LastN<EventEnvelope>(query.limit);
          await drainBacklog(feed, (envelope) => matches(envelope) && last.push(envelope));
          return last.values();
        }),
      );
      const events = backlog.flat().sort(byTime).slice(-query.limit);
      if (query.follow !== 'true') {
        closeFeeds(feeds);
        return { events };
      }
      return followStream(context, deps, feeds, events, matches, async () => {
        scope = await recheck(context, deps);
      });
    } catch (error) {
      closeFeeds(feeds);
      throw error;
    }
  },
};

/** Re-authenticates the credential and re-reads the memberships: a revoked credential ends the stream. */
async function recheck(context: EventsContext, deps: ApiDeps): Promise<Scope> {
  const meta: RequestMeta = { actor: systemActor('gateway'), correlationId: context.request.id };
  const credential = context.credential;
  if (!credential) throw new AppError('unauthenticated', 'no credential');
  const principal = Principal.parse(
    await request(deps.nc, querySubject('identity', 'authenticate'), { credential: credential.value }, meta),
  );
  return scopeOf(principal, (subject, data) => request(deps.nc, subject, data, { ...context.meta, principal }));
}

/** NDJSON: the backlog, then each new matching event, until the client goes or its credential stops working. */
function followStream(
  context: EventsContext,
  deps: ApiDeps,
  feeds: Feed[],
  backlog: EventEnvelope[],
  matches: (envelope: EventEnvelope) => boolean,
  refresh: () => Promise<void>,
): PassThrough {
  const out = new PassThrough();
  const write = (value: unknown) => {
    if (!out.writableEnded) out.write(`${JSON.stringify(value)}\n`);
  };
  let stopped = false;
  const stop = (error?: AppError) => {
    if (stopped) return;
    stopped = true;
    deps.streams.delete(stop);
    clearInterval(timer);
    if (error) write({ error: error.toBody() });
    closeFeeds(feeds);
    out.end();
  };
  const timer = setInterval(() => {
    refresh().catch((error: unknown) => {
      if (error instanceof AppError && ['unauthenticated', 'forbidden', 'not_found'].includes(error.code)) {
        stop(error);
      } else {
        // A slow or briefly absent identity service must not cut every follower off; the next check decides.
        context.request.log.warn({ err: error }, 'could not re-check a followed event stream');
      }
    });
  }, deps.options.followRecheckMs);
  context.reply.raw.once('close', () => stop());
  deps.streams.add(stop);
  for (const envelope of backlog) write(envelope);
  for (const feed of feeds) {
    follow(feed, (envelope) => {
      if (matches(envelope)) write(envelope);
    }).catch((error: unknown) => {
      context.request.log.error({ err: error, context: feed.context }, 'event stream failed');
      stop(new AppError('unavailable', `the ${feed.context} event stream failed`));
    });
  }
  context.reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
  return out;
}
