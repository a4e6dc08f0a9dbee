import { type AgentOp, AgentOps, AppError, MAX_REQUEST_BYTES, type Reply } from '@agentpod/contracts';
import { type Logger, parseRequest, toErrorBody } from '@agentpod/kit';
import type { z } from 'zod';
import type { OpHandlers } from './ops.ts';
import { immediately, type Schedule } from './schedule.ts';

const encoder = new TextEncoder();

const isOp = (op: string): op is AgentOp => Object.hasOwn(AgentOps, op);

/** Replies bigger than this could not travel back over NATS (1 MiB messages by default). */
export const MAX_REPLY_BYTES = MAX_REQUEST_BYTES;

/**
 * Answers one `req` frame: the op by name, its body parsed like any kit request (`{ meta, data }`, the data by the
 * op's AgentOps input schema), run when `schedule` says (the agent's: one operation per pod at a time), and the
 * kit `Reply` as JSON text. Never throws: every failure is a reply.
 */
export async function dispatch(
  request: { op: string; body: string },
  handlers: OpHandlers,
  logger: Logger,
  schedule: Schedule = immediately,
): Promise<string> {
  let correlationId: string = crypto.randomUUID();
  let reply: Reply;
  try {
    if (!isOp(request.op)) throw new AppError('invalid', `unknown agent operation "${request.op.slice(0, 64)}"`);
    const input: z.ZodType = AgentOps[request.op].input;
    const parsed = parseRequest(encoder.encode(request.body), input, MAX_REQUEST_BYTES);
    correlationId = parsed.meta.correlationId;
    // The op and its input were matched by name just above; TypeScript cannot follow that through a union.
    const handle = handlers[request.op] as (input: unknown) => Promise<unknown>;
    const result = await schedule(request.op, parsed.data, () => handle(parsed.data));
    reply = { ok: true, result: result ?? null };
  } catch (error) {
    const body = toErrorBody(error, correlationId);
    if (body.code === 'internal') logger.error({ err: error, op: request.op, correlationId }, `${request.op} failed`);
    else logger.debug({ op: request.op, correlationId, code: body.code }, body.message);
    reply = { ok: false, error: body };
  }
  const text = JSON.stringify(reply);
  if (Buffer.byteLength(text) <= MAX_REPLY_BYTES) return text;
  const tooBig = new AppError(
    'invalid',
    `the reply to ${request.op} is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_REPLY_BYTES}`,
  );
  return JSON.stringify({ ok: false, error: toErrorBody(tooBig, correlationId) } satisfies Reply);
}
