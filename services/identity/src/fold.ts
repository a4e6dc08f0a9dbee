import { AppError, type EnvelopeOf, type EventOf, type EventSchemas, newId } from '@agentpod/contracts';
import type { AggregateDefinition, Decision } from '@agentpod/kit';

/**
 * Folds events into an aggregate's state as if they had been stored at `at`: the "given" of decider tests,
 * and a way to replay a decision's events onto a state without NATS.
 */
export function foldAt<S, ES extends EventSchemas>(
  aggregate: AggregateDefinition<S, ES>,
  events: readonly EventOf<ES>[],
  at: Date,
  from: S = aggregate.initialState,
): S {
  return events.reduce(
    (state, event, index) =>
      aggregate.evolve(state, {
        id: newId(),
        type: event.type,
        aggregateId: 'test',
        ...(event.tenantId === undefined ? {} : { tenantId: event.tenantId }),
        actor: { kind: 'system', id: 'test' },
        occurredAt: at.toISOString(),
        correlationId: 'test',
        causationId: 'test',
        version: index + 1,
        data: event.data,
      } as EnvelopeOf<ES>),
    from,
  );
}

/** The events of a decision that was expected to succeed; throws the error of one that refused. */
export function accepted<ES extends EventSchemas>(decision: Decision<ES>): EventOf<ES>[] {
  if (decision instanceof AppError) throw decision;
  return decision;
}
