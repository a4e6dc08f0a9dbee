import { AUDITED_CONTEXTS, type EventEnvelope } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { type Insertable, sql } from 'kysely';
import type { AuditEntriesTable, TenantsDb } from '../db.ts';

/**
 * What the audit log keeps of an event's data: everything but fields named `…Hash` (token and secret hashes are
 * not secrets, but nobody reading the audit log needs them), with NUL characters replaced, since jsonb cannot
 * hold them and a projection must accept every event.
 */
export function auditData(data: unknown): string {
  return JSON.stringify(data ?? null, (key, value: unknown) => {
    if (key.endsWith('Hash')) return undefined;
    return typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value;
  });
}

export function auditRow(context: string, envelope: EventEnvelope): Insertable<AuditEntriesTable> {
  return {
    event_id: envelope.id,
    context,
    type: envelope.type,
    aggregate_id: envelope.aggregateId,
    tenant_id: envelope.tenantId ?? null,
    actor_kind: envelope.actor.kind,
    actor_id: envelope.actor.id,
    actor_user: envelope.actor.kind === 'user' ? envelope.actor.id : (envelope.actor.onBehalfOf ?? null),
    correlation_id: envelope.correlationId,
    occurred_at: envelope.occurredAt,
    // A text parameter cast to jsonb: the driver must not encode the JSON text a second time as a JSON string.
    data: sql<unknown>`(${auditData(envelope.data)}::text)::jsonb`,
  };
}

/** One projection per audited stream, all into `audit_entries`: every event is a line of the audit log. */
export const auditProjections: Projection<TenantsDb>[] = AUDITED_CONTEXTS.map((context) => ({
  name: `audit_${context}`,
  context,
  async apply(tx, events) {
    const rows = events.map(({ envelope }) => auditRow(context, envelope));
    // A big catch-up batch is split so one statement stays well under PostgreSQL's 65535 parameters.
    for (let start = 0; start < rows.length; start += 1_000) {
      await tx
        .insertInto('audit_entries')
        .values(rows.slice(start, start + 1_000))
        .onConflict((c) => c.column('event_id').doNothing())
        .execute();
    }
  },
}));
