import {
  AppError,
  type ErrorBody,
  invalidInput,
  MAX_REQUEST_BYTES,
  type Reply,
  RequestEnvelope,
  type RequestMeta,
} from '@agentpod/contracts';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { z } from 'zod';
import type { Logger } from './logger.ts';
import { runWithContext } from './request-context.ts';
import { withIncomingSpan } from './telemetry.ts';

/** A command or query handler: its input schema and what it does with a valid input. */
export type RequestHandler<I = unknown, O = unknown> = {
  input: z.ZodType<I>;
  handle: (input: I, meta: RequestMeta) => Promise<O>;
};

export const handler = <I, O>(
  input: z.ZodType<I>,
  handle: (input: I, meta: RequestMeta) => Promise<O>,
): RequestHandler<I, O> => ({ input, handle });

const encoder = new TextEncoder();

/** Parses and validates one request body; every failure is an `invalid` AppError saying what is wrong. */
export function parseRequest<I>(
  body: Uint8Array,
  input: z.ZodType<I>,
  maxBytes: number,
): { meta: RequestMeta; data: I } {
  if (body.length > maxBytes) {
    throw new AppError('invalid', `request body is ${body.length} bytes; the limit is ${maxBytes}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new AppError('invalid', 'request body is not valid UTF-8 JSON');
  }
  const envelope = RequestEnvelope.safeParse(json);
  if (!envelope.success) throw invalidInput(envelope.error, 'request envelope');
  const data = input.safeParse(envelope.data.data);
  if (!data.success) throw invalidInput(data.error);
  return { meta: envelope.data.meta, data: data.data };
}

/** Turns anything thrown by a handler into the reply's error: catalogue errors as they are, the rest `internal`. */
export function toErrorBody(error: unknown, correlationId: string): ErrorBody {
  if (error instanceof AppError) {
    const body = error.toBody();
    return error.code === 'internal' ? { ...body, correlationId } : body;
  }
  return { code: 'internal', message: 'internal error; the service log has the details', correlationId };
}

/**
 * Serves one request/reply subject in a queue group, so replicas share the load. Every message gets exactly
 * one reply; a bad message never stops the subscription. At most `concurrency` requests run at once.
 */
export function serveRequests<I, O>(options: {
  nc: NatsConnection;
  subject: string;
  queue: string;
  handler: RequestHandler<I, O>;
  logger: Logger;
  maxBytes?: number;
  concurrency?: number;
}): Subscription {
  const { nc, subject, queue, logger } = options;
  const maxBytes = options.maxBytes ?? MAX_REQUEST_BYTES;
  const concurrency = options.concurrency ?? 64;
  const subscription = nc.subscribe(subject, { queue });
  const inFlight = new Set<Promise<void>>();

  const answer = async (msg: Msg): Promise<void> => {
    let correlationId = msg.headers?.get('correlation-id') || crypto.randomUUID();
    let reply: Reply;
    try {
      const request = parseRequest(msg.data, options.handler.input, maxBytes);
      correlationId = request.meta.correlationId;
      const result = await runWithContext(
        {
          correlationId,
          causationId: request.meta.causationId,
          actor: request.meta.actor,
          tenantId: request.meta.tenantId,
        },
        () => withIncomingSpan(subject, msg.headers, () => options.handler.handle(request.data, request.meta)),
      );
      reply = { ok: true, result: result ?? null };
    } catch (error) {
      const body = toErrorBody(error, correlationId);
      if (body.code === 'internal') {
        logger.error({ err: error, subject, correlationId }, `request on ${subject} failed`);
      } else {
        logger.debug({ subject, correlationId, code: body.code }, body.message);
      }
      reply = { ok: false, error: body };
    }
    if (msg.reply) msg.respond(encoder.encode(JSON.stringify(reply)));
  };

  void (async () => {
    for await (const msg of subscription) {
      const task = answer(msg).catch((error: unknown) =>
        logger.error({ err: error, subject }, 'could not send a reply'),
      );
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  })();
  return subscription;
}
