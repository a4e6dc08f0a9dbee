import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A stand-in OpenAI-compatible provider for tests: a real HTTP server on 127.0.0.1 speaking the chat-completions
 * protocol (`POST /v1/chat/completions`, streamed as server-sent events or answered whole, and `GET /v1/models`),
 * so the client library, the sockets and the aborts under test are the real ones. It records every request body
 * (tests assert what a provider would have received), counts requests whose client went away mid-answer, reports
 * usage in the final chunk, and can be told to fail: refuse the key (401), not know the model (404), fail (500),
 * or hang (before the first token, or after it).
 */

export type FakeChatMessage = { role: string; content: string };
export type FakeChatRequest = {
  model: string;
  messages: FakeChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string };
  [key: string]: unknown;
};

/** What the fake received: the parsed body, and the Authorization header. */
export type RecordedRequest = { path: string; body: FakeChatRequest; authorization: string | undefined; at: number };

export type FakeLlmFailure =
  | 'none'
  /** 401 with an OpenAI-style error body. */
  | 'unauthorized'
  /** 500 with an error body. */
  | 'server-error'
  /** Accept the request and never answer (no headers, no token). */
  | 'hang'
  /** Stream the first token, then nothing more. */
  | 'stall'
  /** 400 when the request asks for `response_format` (an old server), else answer normally. */
  | 'no-json-mode';

export type FakeUsage = { promptTokens: number; completionTokens: number };

export type FakeLlmOptions = {
  /** The answer: a text, or a function of the request. Default: "Hello from the fake provider." */
  reply?: string | ((request: FakeChatRequest) => string);
  /** Delay before each streamed token, in ms (default 0). */
  tokenDelayMs?: number;
  /** Usage reported in the final chunk; default: prompt = characters of the messages / 4, completion = tokens. */
  usage?: FakeUsage | ((request: FakeChatRequest, tokens: string[]) => FakeUsage);
  /** Models the fake knows; any other is a 404 `model_not_found`. Default: any model. */
  models?: string[];
  /** When set, a request without `Authorization: Bearer <apiKey>` is a 401. */
  apiKey?: string;
  failure?: FakeLlmFailure;
};

export type FakeLlm = {
  /** The base URL a client is given, `/v1` included. */
  url: string;
  port: number;
  /** Every chat-completions request, in arrival order. */
  requests: RecordedRequest[];
  /** Requests whose client closed the connection before the answer was complete. */
  readonly aborted: number;
  /** Requests answered completely. */
  readonly completed: number;
  /** Changes the behaviour for the requests that follow. */
  configure(options: FakeLlmOptions): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` requests were aborted by their clients. */
  waitForAborts(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

/** Splits a reply into tokens the way a model streams them: words with their following whitespace. */
export const tokensOf = (text: string): string[] => text.match(/\S+\s*|\s+/g) ?? [];

const DEFAULT_REPLY = 'Hello from the fake provider.';

function defaultUsage(request: FakeChatRequest, tokens: string[]): FakeUsage {
  const chars = request.messages.reduce((n, m) => n + String(m.content ?? '').length, 0);
  return { promptTokens: Math.ceil(chars / 4), completionTokens: tokens.length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type, param: null, code } }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`fake LLM: timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function startFakeLlm(initial: FakeLlmOptions = {}): Promise<FakeLlm> {
  let options: FakeLlmOptions = { ...initial };
  const requests: RecordedRequest[] = [];
  let aborted = 0;
  let completed = 0;
  const open = new Set<ServerResponse>();

  const chat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: FakeChatRequest;
    try {
      body = JSON.parse(await readBody(req)) as FakeChatRequest;
    } catch {
      return sendError(res, 400, 'the body is not JSON', 'invalid_request_error', null);
    }
    requests.push({ path: req.url ?? '', body, authorization: req.headers.authorization, at: Date.now() });
    const failure = options.failure ?? 'none';
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (failure === 'unauthorized') {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (options.models && !options.models.includes(body.model)) {
      return sendError(
        res,
        404,
        `The model \`${body.model}\` does not exist.`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    if (failure === 'server-error') return sendError(res, 500, 'The server had an error.', 'server_error', null);
    if (failure === 'no-json-mode' && body.response_format) {
      return sendError(res, 400, 'response_format is not supported', 'invalid_request_error', null);
    }
    // Counted as aborted when the client goes before the answer ends (a hang included).
    let finished = false;
    res.on('close', () => {
      open.delete(res);
      if (!finished) aborted++;
    });
    open.add(res);
    if (failure === 'hang') return;

    const reply = typeof options.reply === 'function' ? options.reply(body) : (options.reply ?? DEFAULT_REPLY);
    const tokens = tokensOf(reply);
    const usageOf = options.usage ?? defaultUsage;
    const usage = typeof usageOf === 'function' ? usageOf(body, tokens) : usageOf;
    const wireUsage = {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    };
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      finished = true;
      completed++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
          usage: wireUsage,
        }),
      );
      return;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (data: unknown) => {
      if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    send(chunk({ role: 'assistant', content: '' }, null));
    for (const [index, token] of tokens.entries()) {
      if (options.tokenDelayMs) await sleep(options.tokenDelayMs);
      if (res.destroyed) return;
      send(chunk({ content: token }, null));
      if (failure === 'stall' && index === 0) return;
    }
    send(chunk({}, 'stop'));
    if (body.stream_options?.include_usage) {
      send({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: wireUsage });
    }
    if (res.destroyed) return;
    res.write('data: [DONE]\n\n');
    finished = true;
    completed++;
    res.end();
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      chat(req, res).catch(() => res.destroy());
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const ids = options.models ?? ['fake-model'];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })),
        }),
      );
      return;
    }
    sendError(res, 404, `no route ${req.method} ${path}`, 'invalid_request_error', null);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get aborted() {
      return aborted;
    },
    get completed() {
      return completed;
    },
    configure(next) {
      options = { ...options, ...next };
    },
    waitForRequests: (count, timeoutMs = 15_000) =>
      waitFor(`${count} requests`, () => requests.length >= count, timeoutMs),
    waitForAborts: (count, timeoutMs = 15_000) =>
      waitFor(`${count} aborted requests`, () => aborted >= count, timeoutMs),
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
