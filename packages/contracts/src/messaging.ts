import { z } from 'zod';
import { Actor } from './actor.ts';
import { Principal } from './auth.ts';
import { ErrorBody } from './errors.ts';

/** Who asks and why; travels with every command and query. */
export const RequestMeta = z.object({
  actor: Actor,
  correlationId: z.string().min(1).max(128),
  /** Id of the message that caused this request; defaults to the correlation id. */
  causationId: z.string().min(1).max(128).optional(),
  /** The tenant the caller acts within, when it acts within one. */
  tenantId: z.string().optional(),
  /** The authenticated caller, set by the gateway; absent for system actors. */
  principal: Principal.optional(),
});
export type RequestMeta = z.infer<typeof RequestMeta>;

/** The body of every command and query on NATS: `data` is validated by the handler's own schema. */
export const RequestEnvelope = z.object({
  meta: RequestMeta,
  data: z.unknown(),
});
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const OkReply = z.object({ ok: z.literal(true), result: z.unknown() });
export const ErrorReply = z.object({ ok: z.literal(false), error: ErrorBody });
/** Every command and query reply. */
export const Reply = z.discriminatedUnion('ok', [OkReply, ErrorReply]);
export type Reply<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };

/** Largest command or query body a handler accepts; bigger bodies get `invalid` without being parsed. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
