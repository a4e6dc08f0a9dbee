import { sql, type Transaction } from 'kysely';

/*
 * How the acting instance hears that a read model it plans from has changed: the projections NOTIFY inside their
 * transaction, so PostgreSQL delivers it only once the change is committed, and to every instance (the one
 * holding the reconcile lock need not be the one feeding the projection).
 */
export const CHANGES_CHANNEL = 'agentpod_reconciler_changes';

export async function announceChange<DB>(tx: Transaction<DB>, what: 'desired' | 'observed'): Promise<void> {
  await sql`select pg_notify(${CHANGES_CHANNEL}, ${what})`.execute(tx);
}

/** A value as jsonb: NUL characters (which jsonb cannot hold) replaced, so a projection accepts every event. */
export function jsonb(value: unknown) {
  const text = JSON.stringify(value ?? null, (_key, v: unknown) =>
    typeof v === 'string' ? v.replaceAll('\u0000', '\uFFFD') : v,
  );
  // A text parameter cast to jsonb: the driver must not encode the JSON text a second time as a JSON string.
  return sql<unknown>`(${text}::text)::jsonb`;
}
