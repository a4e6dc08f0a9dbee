import type { alertEvents } from '@agentpod/contracts';
import { BUILTIN_POD_FAILING_RULE, type RequestMeta, systemActor } from '@agentpod/contracts';
import {
  type AggregateRepository,
  ConcurrencyError,
  type EventStore,
  type Projection,
  type StoredEvent,
} from '@agentpod/kit';
import type { Kysely } from 'kysely';
import type { MonitorDb } from '../db.ts';
import { alertSeriesId, derivedEventId } from '../ids.ts';
import { noticeContext } from './context.ts';
import { noticeFor } from './notice.ts';
import { type AlertCause, type AlertSeries, alertCauses, decideAlert } from './series.ts';

/*
 * The alerter follows RECONCILER and turns PodFailing / PodRecovered into AlertFired / AlertResolved in MONITOR
 * (the built-in pod-failing rule; whether each is notified is decided here, from silences and the tenant's cap).
 * It runs as a projection of the kit (one leader through the projection's advisory lock, a checkpoint in
 * PostgreSQL), but what it "projects" into is the alert series in the log: each series is loaded, decided on and
 * appended to with optimistic concurrency, and every event it appends has an id derived from its cause. So an
 * event handled twice (redelivered after a crash between the append and the checkpoint, or read again from the
 * start because a replay dropped the checkpoint) finds the series already past it and appends nothing.
 * It is not one of the service's read-model projections: a replay must not run it.
 */

const ATTEMPTS = 5;

export type AlerterDeps = {
  store: EventStore;
  series: AggregateRepository<AlertSeries, typeof alertEvents>;
  clock: () => Date;
  /** The read model: silences of the built-in rule and the tenant's notifications this hour. */
  db: Kysely<MonitorDb>;
  /** AGENTPOD_ALERT_TENANT_HOURLY_CAP */
  hourlyCap: number;
};

function causeOf(stored: StoredEvent): AlertCause | undefined {
  const { envelope } = stored;
  if (!Object.hasOwn(alertCauses, envelope.type)) return undefined;
  const schema = alertCauses[envelope.type as keyof typeof alertCauses];
  // A reconciler event that does not match its schema is not ours to judge: it throws and the batch is retried,
  // like any projection that would otherwise miss a fact.
  return { ...envelope, data: schema.parse(envelope.data) } as AlertCause;
}

/** Decides and appends what one reconciler event does to its pod's alert series; idempotent. */
export async function raiseAlert(deps: AlerterDeps, cause: AlertCause, seq: number): Promise<number> {
  const seriesId = alertSeriesId('pod-failing', cause.data.tenantId, cause.data.podId);
  const meta: RequestMeta = {
    actor: systemActor('monitor'),
    correlationId: cause.correlationId,
    causationId: cause.id,
    tenantId: cause.data.tenantId,
  };
  for (let attempt = 1; ; attempt++) {
    const loaded = await deps.series.load(seriesId);
    const { tenantId, podId, nodeId } = cause.data;
    const context = await noticeContext(deps.db, {
      ruleId: BUILTIN_POD_FAILING_RULE,
      target: { tenantId, podId, nodeId },
      tenantId,
      now: deps.clock(),
      cap: deps.hourlyCap,
    });
    const events = decideAlert(
      cause,
      seq,
      loaded.state,
      noticeFor(context, loaded.state.firing?.silencedUntil ?? null),
    );
    if (events.length === 0) return 0;
    try {
      const { stored } = await deps.store.append('monitor', seriesId, events, {
        expected: loaded.position,
        meta,
        now: deps.clock(),
        ids: events.map((_, index) => derivedEventId(cause.id, seriesId, String(index))),
      });
      deps.series.applyAppended(seriesId, loaded, stored);
      return stored.length;
    } catch (error) {
      // Another leader (a takeover) appended first: decide again on what it wrote.
      if (!(error instanceof ConcurrencyError) || attempt >= ATTEMPTS) throw error;
    }
  }
}

export function alerterProjection(deps: AlerterDeps): Projection<MonitorDb> {
  return {
    name: 'alerter',
    context: 'reconciler',
    async apply(_tx, stored) {
      for (const event of stored) {
        const cause = causeOf(event);
        if (cause) await raiseAlert(deps, cause, event.seq);
      }
    },
  };
}
