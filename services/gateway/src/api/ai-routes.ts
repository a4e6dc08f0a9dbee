import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  AiResults,
  AiStreamChunk,
  AppError,
  aiStreamSubjects,
  commandSubject,
  querySubject,
} from '@agentpod/contracts';
import type { Msg } from '@nats-io/nats-core';
import type { RouteContext, RouteHandlers } from './context.ts';

type AiHandlers = Pick<
  RouteHandlers,
  | 'aiAsk'
  | 'aiDiagnose'
  | 'aiGenerate'
  | 'listConversations'
  | 'podDiagnosis'
  | 'getConversation'
  | 'deleteConversation'
  | 'getAiConfig'
  | 'setAiConfig'
  | 'tenantAiUsage'
  | 'aiUsage'
>;

const aiCmd = (name: string) => commandSubject('ai', name);
const aiQry = (name: string) => querySubject('ai', name);

/*
 * The assistant's routes. Plain ones are a command or query to the ai service, which checks access again from
 * the caller's principal. `ask` and `diagnose` answer a stream:
 *
 *   client ◀─NDJSON── gateway ◀── ai.stream.<id>  (AiStreamChunk: delta…, then done | error) ◀── ai service
 *                        └──────▶ ai.cmd.ask / ai.cmd.diagnose {…, streamId}                 ──▶ ai service
 *                        └──────▶ ai.stream.<id>.stop {}   (client gone, idle, too slow, shutdown)
 *
 * The subscription is made before the command is sent, so a chunk published right after the service's answer is
 * never missed; a chunk that comes before that answer is written to the stream (which is not sent until then).
 */

/** Starting an answer builds its context (logs from the node's agent, events, metrics) before the service replies. */
const START = { timeoutMs: 30_000 };
/** A change appends an event and waits for the read model. */
const CHANGE = { timeoutMs: 15_000 };
/** One whole (non-streamed) completion: as long as a slow local model may take to write several pod specs. */
const GENERATE = { timeoutMs: 300_000 };
/** A client reading the answer more slowly than this much buffered text is cut off rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** Response headers naming what a streamed answer belongs to, so a client can continue the conversation. */
export const AI_CONVERSATION_HEADER = 'x-agentpod-conversation';
export const AI_MESSAGE_HEADER = 'x-agentpod-message';

/** What the relay uses of a route's context (ask and diagnose differ only in their input). */
type StreamContext = Pick<RouteContext, 'deps' | 'request' | 'reply' | 'call'>;

/**
 * Sends `command` with a fresh stream id and relays the chunks the ai service publishes as NDJSON. Whatever ends
 * the relay other than the service's own `done`/`error` tells the service to stop (it aborts the provider's
 * request); whatever ends it for a reason the client cannot see adds an `error` line.
 */
async function relayAnswer(
  context: StreamContext,
  command: 'ask' | 'diagnose',
  input: Record<string, unknown>,
): Promise<PassThrough> {
  const { deps, request: httpRequest, reply } = context;
  const streamId = randomBytes(16).toString('base64url');
  const out = new PassThrough();
  const idleMs = deps.options.aiStreamIdleMs;
  let ended = false;
  let idle: NodeJS.Timeout | undefined;

  const write = (chunk: AiStreamChunk) => {
    if (!out.writableEnded) out.write(`${JSON.stringify(chunk)}\n`);
  };
  const finish = (how: { stopService: boolean; error?: AppError }) => {
    if (ended) return;
    ended = true;
    clearTimeout(idle);
    deps.streams.delete(shutdown);
    subscription.unsubscribe();
    if (how.stopService) deps.nc.publish(aiStreamSubjects.stop(streamId), '{}');
    if (how.error) write({ t: 'error', error: how.error.toBody() });
    out.end();
  };
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      const quiet = idleMs >= 1000 ? `${Math.round(idleMs / 1000)} s` : `${idleMs} ms`;
      finish({ stopService: true, error: new AppError('timeout', `the assistant sent nothing for ${quiet}`) });
    }, idleMs);
  };
  const receive = (msg: Msg) => {
    if (ended) return;
    const parsed = AiStreamChunk.safeParse(parseJson(msg.string()));
    if (!parsed.success) {
      httpRequest.log.warn({ streamId }, 'dropped a malformed chunk from the ai service');
      return;
    }
    const chunk = parsed.data;
    if (chunk.t === 'delta' && out.writableLength > MAX_BUFFERED_BYTES) {
      finish({ stopService: true, error: new AppError('unavailable', 'the client reads the answer too slowly') });
      return;
    }
    write(chunk);
    if (chunk.t === 'done' || chunk.t === 'error') finish({ stopService: false });
    else armIdle();
  };
  const subscription = deps.nc.subscribe(aiStreamSubjects.chunks(streamId), {
    callback: (error, msg) => {
      if (error) finish({ stopService: true, error: new AppError('unavailable', 'the answer stream broke') });
      else receive(msg);
    },
  });
  const shutdown = () =>
    finish({ stopService: true, error: new AppError('unavailable', 'the gateway is shutting down') });
  deps.streams.add(shutdown);
  // Stop pressed, tab closed, CLI interrupted: the provider's request is cancelled, not paid for to the end.
  reply.raw.once('close', () => finish({ stopService: true }));

  let started: { conversationId: string; messageId: string };
  try {
    // No flush needed: NATS handles one connection's SUB before its later PUB, so the subscription is in place
    // before the command can reach the ai service.
    started = AiResults[command].parse(await context.call(aiCmd(command), { ...input, streamId }, START));
  } catch (error) {
    finish({ stopService: true });
    out.destroy();
    throw error;
  }
  if (!ended) armIdle();
  reply
    .type('application/x-ndjson; charset=utf-8')
    .header('cache-control', 'no-store')
    .header(AI_CONVERSATION_HEADER, started.conversationId)
    .header(AI_MESSAGE_HEADER, started.messageId);
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const aiHandlers: AiHandlers = {
  aiAsk: (context) => {
    const { params, body } = context;
    // A conversation is kept in one tenant: a pod of another tenant is not asked about from here.
    if (body.subject.kind === 'pod' && body.subject.tenantId !== params.tenant) {
      throw new AppError('invalid', `invalid body: subject.tenantId must be the tenant of the path (${params.tenant})`);
    }
    return relayAnswer(context, 'ask', { ...body, tenantId: params.tenant });
  },

  aiDiagnose: (context) =>
    relayAnswer(context, 'diagnose', {
      tenantId: context.params.tenant,
      podId: context.params.pod,
    }),

  aiGenerate: ({ params, body, call }) => call(aiCmd('generateSpec'), { ...body, tenantId: params.tenant }, GENERATE),

  podDiagnosis: ({ params, call }) => call(aiQry('latestDiagnosis'), { tenantId: params.tenant, podId: params.pod }),

  listConversations: ({ params, call }) => call(aiQry('listConversations'), { tenantId: params.tenant }),

  getConversation: ({ params, call }) =>
    call(aiQry('getConversation'), { tenantId: params.tenant, conversationId: params.conversation }),

  deleteConversation: ({ params, call }) =>
    call(aiCmd('deleteConversation'), { tenantId: params.tenant, conversationId: params.conversation }, CHANGE),

  getAiConfig: ({ params, call }) => call(aiQry('getConfig'), { tenantId: params.tenant }),

  setAiConfig: ({ params, body, call }) => call(aiCmd('setTenantConfig'), { ...body, tenantId: params.tenant }, CHANGE),

  tenantAiUsage: ({ params, call }) => call(aiQry('usage'), { tenantId: params.tenant }),

  aiUsage: ({ call }) => call(aiQry('usage'), {}),
};
