import type { EnvelopeOf, EventSchemas } from '@agentpod/contracts';
import type { StoredEvent } from './event-store.ts';

/**
 * The events of a batch that a projection reads, with validated data. Other types are skipped. Data that does
 * not match its schema throws: the projection pauses and retries rather than silently missing a fact.
 */
export function eventsOf<ES extends EventSchemas>(schemas: ES, stored: readonly StoredEvent[]): EnvelopeOf<ES>[] {
  return stored.flatMap(({ envelope }) => {
    const schema = schemas[envelope.type];
    if (!schema) return [];
    return [{ ...envelope, data: schema.parse(envelope.data) } as EnvelopeOf<ES>];
  });
}
