import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  type AgentOpInput,
  AgentOps,
  AppError,
  agentSubjects,
  type ErrorBody,
  type LogLine,
  LogStreamMessage,
  PodResults,
  Principal,
  querySubject,
  type RequestMeta,
  type routes,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import type { Msg } from '@nats-io/nats-core';
import type { RouteContext } from './context.ts';

/*
 * GET …/pods/:pod/logs. The pods service says where the pod's container runs (and whether the caller may read
 * it); the node's agent answers the last lines. Following, the gateway opens a log session on the agent (a fresh
 * session id), relays what the agent publishes on `agent.<node>.session.<id>.out` as NDJSON, and tells the agent
 * to stop (`close` on `….in`) when the client goes.
 *
 *   client ◀─NDJSON── gateway ◀── agent.<node>.session.<id>.out ◀── agent (pub frames)
 *                        └──────▶ agent.<node>.cmd.logs {containerId, tail, sessionId} ─▶ agent
 *                        └──────▶ agent.<node>.session.<id>.in {t:'close'}  (client gone)
 */

type LogsContext = RouteContext<(typeof routes)['podLogs']>;
type Target = { nodeId: string; containerId: string };

/** A client that reads more slowly than this much buffered output is cut off rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const AGENT_TIMEOUT_MS = 10_000;
/** Denials that end a followed stream at a re-check; anything else (a slow service) waits for the next one. */
const DENIED = new Set(['unauthenticated', 'forbidden', 'not_found']);

async function logTarget(context: LogsContext, meta: RequestMeta = context.meta): Promise<Target> {
  const key = { tenantId: context.params.tenant, podId: context.params.pod };
  const answer = await request(context.deps.nc, querySubject('pods', 'logTarget'), key, meta);
  return PodResults.logTarget.parse(answer);
}

/**
 * Asks the node's agent for logs. The agent gets the gateway as actor, not the caller's principal: a node (a
 * tenant's own server, say) learns nothing about who reads.
 */
async function askAgent(context: LogsContext, target: Target, input: AgentOpInput<'logs'>): Promise<LogLine[]> {
  const meta: RequestMeta = { actor: systemActor('gateway'), correlationId: context.request.id };
  try {
    const answer = await request(context.deps.nc, agentSubjects.command(target.nodeId, 'logs'), input, meta, {
      timeoutMs: AGENT_TIMEOUT_MS,
    });
    return AgentOps.logs.output.parse(answer).lines;
  } catch (error) {
    if (error instanceof AppError && error.code === 'unavailable') {
      throw new AppError('unavailable', `the pod's node ${target.nodeId} is unreachable: its agent is not connected`, {
        cause: error,
      });
    }
    throw error;
  }
}

export async function podLogs(context: LogsContext) {
  const target = await logTarget(context);
  const { tail, follow } = context.query;
  if (follow !== 'true') return { lines: await askAgent(context, target, { containerId: target.containerId, tail }) };
  return followLogs(context, target);
}

const errorOf = (body: ErrorBody) => new AppError(body.code, body.message);

async function followLogs(context: LogsContext, target: Target): Promise<PassThrough> {
  const { deps, request: httpRequest } = context;
  const sessionId = randomBytes(16).toString('base64url');
  const out = new PassThrough();
  const write = (value: unknown) => {
    if (!out.writableEnded) out.write(`${JSON.stringify(value)}\n`);
  };
  // Subscribed before the agent is asked, so no line published right after its answer is missed.
  const subscription = deps.nc.subscribe(agentSubjects.session(target.nodeId, sessionId, 'out'));
  let stopped = false;
  const stop = (error?: AppError, agentEnded = false) => {
    if (stopped) return;
    stopped = true;
    deps.streams.delete(stop);
    clearInterval(timer);
    subscription.unsubscribe();
    if (!agentEnded) deps.nc.publish(agentSubjects.session(target.nodeId, sessionId, 'in'), '{"t":"close"}');
    if (error) write({ error: error.toBody() });
    out.end();
  };
  const handle = (message: LogStreamMessage) => {
    switch (message.t) {
      case 'line':
        if (out.writableLength > MAX_BUFFERED_BYTES) {
          stop(new AppError('unavailable', 'the client reads the logs more slowly than the pod writes them'));
        } else write(message.line);
        return;
      case 'end':
        stop(message.error ? errorOf(message.error) : undefined, true);
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown log message ${JSON.stringify(unknown)}`);
      }
    }
  };
  // Lines that arrive before the agent's answer (which carries the tail) wait, so the output stays in order.
  let early: LogStreamMessage[] | undefined = [];
  const receive = (msg: Msg) => {
    const parsed = LogStreamMessage.safeParse(parseJson(msg.string()));
    if (!parsed.success) {
      httpRequest.log.warn({ nodeId: target.nodeId }, 'dropped a malformed log message from the agent');
      return;
    }
    if (early) early.push(parsed.data);
    else handle(parsed.data);
  };
  void (async () => {
    for await (const msg of subscription) receive(msg);
  })();

  // A revoked credential or a lost membership ends the stream at the next re-check, as for followed events.
  const timer = setInterval(() => {
    recheck(context).catch((error: unknown) => {
      if (error instanceof AppError && DENIED.has(error.code)) stop(error);
      else httpRequest.log.warn({ err: error }, 'could not re-check a followed log stream');
    });
  }, deps.options.followRecheckMs);
  context.reply.raw.once('close', () => stop());
  deps.streams.add(stop);

  let tail: LogLine[];
  try {
    tail = await askAgent(context, target, {
      containerId: target.containerId,
      tail: context.query.tail,
      sessionId,
    });
  } catch (error) {
    stop();
    throw error;
  }
  for (const line of tail) write(line);
  const waiting = early;
  early = undefined;
  for (const message of waiting) handle(message);
  context.reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Authenticates the credential again and asks the pods service again whether this caller may read the pod. */
async function recheck(context: LogsContext): Promise<void> {
  const credential = context.credential;
  if (!credential) throw new AppError('unauthenticated', 'no credential');
  const base: RequestMeta = { actor: systemActor('gateway'), correlationId: context.request.id };
  const principal = Principal.parse(
    await request(context.deps.nc, querySubject('identity', 'authenticate'), { credential: credential.value }, base),
  );
  await logTarget(context, { ...context.meta, principal });
}
