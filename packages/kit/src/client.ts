import { AppError, Reply, type RequestMeta } from '@agentpod/contracts';
import { errors, type NatsConnection, headers as natsHeaders } from '@nats-io/nats-core';
import { injectTraceHeaders, withOutgoingSpan } from './telemetry.ts';

/**
 * Sends a command or query and returns its result, or throws the AppError the handler replied with.
 * No responder → `unavailable`; no reply in time → `timeout`.
 */
export async function request<T = unknown>(
  nc: NatsConnection,
  subject: string,
  data: unknown,
  meta: RequestMeta,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  return withOutgoingSpan(subject, async () => {
    const headers = natsHeaders();
    headers.set('correlation-id', meta.correlationId);
    injectTraceHeaders(headers);
    let raw: unknown;
    try {
      const msg = await nc.request(subject, JSON.stringify({ meta, data }), {
        timeout: options.timeoutMs ?? 5_000,
        headers,
      });
      raw = msg.json();
    } catch (error) {
      const noResponders =
        error instanceof errors.NoRespondersError || (error instanceof errors.RequestError && error.isNoResponders());
      const timedOut = error instanceof errors.TimeoutError || (error as Error).cause instanceof errors.TimeoutError;
      if (noResponders) {
        throw new AppError('unavailable', `nothing answers ${subject}; is its service running?`, {
          cause: error,
          details: { noResponders: true },
        });
      }
      if (timedOut) {
        throw new AppError('timeout', `no reply on ${subject} within ${options.timeoutMs ?? 5_000} ms`, {
          cause: error,
        });
      }
      throw new AppError('unavailable', `request on ${subject} failed: ${(error as Error).message}`, { cause: error });
    }
    const reply = Reply.safeParse(raw);
    if (!reply.success) throw new AppError('internal', `malformed reply on ${subject}`);
    if (!reply.data.ok) {
      const { code, message, details } = reply.data.error;
      throw new AppError(code, message, { details });
    }
    return reply.data.result as T;
  });
}
