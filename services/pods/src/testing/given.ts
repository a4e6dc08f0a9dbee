import assert from 'node:assert/strict';
import { AppError, type EnvelopeOf, type ErrorCode, type EventOf, type EventSchemas, newId } from '@agentpod/contracts';
import type { AggregateDefinition, Decision } from '@agentpod/kit';

/* Given / when / then for the deciders: no NATS, no database, the clock a parameter. */

/** Folds events into a state as if stored at `at`; returns the state and the ids the events were given. */
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

/** Asserts a decision (or a thrown call) refused with `code`, and returns the error. */
export function refusedWith(outcome: unknown, code: ErrorCode, message?: RegExp): AppError {
  assert.ok(outcome instanceof AppError, `expected ${code}, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  if (message) assert.match(outcome.message, message);
  return outcome;
}

/** Runs `fn` and returns what it threw (failing when it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}
