import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';

/** Time-ordered unique id (UUID v7): event ids, correlation ids. */
export const newId = (): string => uuidv7();

/**
 * An aggregate id is one NATS subject token: letters, digits, `_` and `-`, at most 128 characters.
 * Subject tokens cannot hold `.`, `*`, `>` or whitespace, and an id must never widen a subscription.
 */
export const AggregateId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, "_" or "-"');
export type AggregateId = z.infer<typeof AggregateId>;
