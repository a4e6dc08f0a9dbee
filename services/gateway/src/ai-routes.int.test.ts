import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  type AiStreamChunk,
  AppError,
  aiStreamSubjects,
  CSRF_HEADER,
  commandSubject,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import type { FastifyInstance } from 'fastify';
import { AI_CONVERSATION_HEADER, AI_MESSAGE_HEADER } from './api/ai-routes.ts';
import { csrfTokenFor } from './auth/cookies.ts';
import { type FakeWorld, startFakeWorld, USERS } from './test-support/fake-services.ts';

/*
 * The assistant's routes against a stand-in ai service on real NATS. `ask` and `diagnose`: the stand-in answers the
 * command and publishes chunks on the stream's subject, as services/ai does; the gateway relays them as NDJSON and
 * publishes `stop` when its client goes or the stream falls silent. The other routes are plain calls.
 */

const withCsrf = (session: string) => ({
  cookie: `agentpod_session=${session}`,
  [CSRF_HEADER]: csrfTokenFor(session),
});
const VIEWER = withCsrf('aps_viewer_session_012345678');
const MEMBER = withCsrf('aps_member_session_012345678');
const OUTSIDER = withCsrf('aps_outsider_session_0123456');
const ASK = '/api/v1/tenants/acme/ai/ask';
const CONVERSATION = `cnv_${'a'.repeat(24)}`;
const MESSAGE = `msg_${'b'.repeat(24)}`;
const done: AiStreamChunk = {
  t: 'done',
  messageId: MESSAGE,
  usage: { promptTokens: 12, completionTokens: 3 },
  stopped: false,
  commands: [{ command: 'docker logs web', explanation: 'see why' }],
};

type StreamCall = { data: { streamId: string } & Record<string, unknown>; meta: RequestMeta };

describe('ai routes: streamed answers relayed from ai.stream.<id>, plain calls to the ai service', () => {
  let world: FakeWorld;
  let address = '';
  let quiet: FastifyInstance;
  let quietAddress = '';
  const calls: StreamCall[] = [];
  /** What the stand-in ai service does with a streamed command, after recording it. */
  let onStream: (call: StreamCall) => unknown = () => ({ conversationId: CONVERSATION, messageId: MESSAGE });
  const publish = (streamId: string, chunk: AiStreamChunk | string) =>
    world.nc.publish(aiStreamSubjects.chunks(streamId), typeof chunk === 'string' ? chunk : JSON.stringify(chunk));
  const stops: string[] = [];

  before(async () => {
    world = await startFakeWorld();
    for (const name of ['ask', 'diagnose']) {
      await world.answer(commandSubject('ai', name), (data, meta) => {
        const call = { data: data as StreamCall['data'], meta };
        calls.push(call);
        return onStream(call);
      });
    }
    world.nc.subscribe('ai.stream.*.stop', {
      callback: (_error, msg) => {
        stops.push(msg.subject);
      },
    });
    address = await world.app.listen({ host: '127.0.0.1', port: 0 });
    quiet = world.gateway({ aiStreamIdleMs: 300 });
    quietAddress = await quiet.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => world?.close());
  beforeEach(() => {
    calls.length = 0;
    stops.length = 0;
    world.received.length = 0;
    onStream = () => ({ conversationId: CONVERSATION, messageId: MESSAGE });
  });

  const ask = (body: unknown, headers = VIEWER, base = address, signal?: AbortSignal) =>
    fetch(`${base}${ASK}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });

  test('ask: the command carries a fresh stream id and the caller; each chunk is one line, in order', async () => {
    onStream = ({ data }) => {
      // Before the answer: the gateway subscribed first, so this one is not lost.
      publish(data.streamId, { t: 'delta', text: 'Hel' });
      setTimeout(() => {
        publish(data.streamId, { t: 'delta', text: 'lo' });
        publish(data.streamId, done);
      }, 20);
      return { conversationId: CONVERSATION, messageId: MESSAGE };
    };
    const response = await ask({ message: 'why?', subject: { kind: 'pod', tenantId: 'acme', podId: 'web' } });
    assert.equal(response.status, 200);
    assert.match(String(response.headers.get('content-type')), /application\/x-ndjson/);
    assert.equal(response.headers.get(AI_CONVERSATION_HEADER), CONVERSATION);
    assert.equal(response.headers.get(AI_MESSAGE_HEADER), MESSAGE);
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(lines, [{ t: 'delta', text: 'Hel' }, { t: 'delta', text: 'lo' }, done]);
    const [call] = calls;
    assert.match(call?.data.streamId ?? '', /^[A-Za-z0-9_-]{22}$/, '16 random bytes, base64url');
    assert.deepEqual(call?.data, {
      tenantId: 'acme',
      streamId: call?.data.streamId,
      subject: { kind: 'pod', tenantId: 'acme', podId: 'web' },
      message: 'why?',
    });
    assert.equal(call?.meta.principal?.userId, USERS.viewer, 'the ai service checks access from the principal');
    assert.deepEqual(stops, [], 'a stream the service ended is not stopped');
  });

  test('the service’s error chunk is the last line; malformed chunks are dropped', async () => {
    onStream = ({ data }) => {
      setTimeout(() => {
        publish(data.streamId, 'not json');
        publish(data.streamId, JSON.stringify({ t: 'delta' }));
        publish(data.streamId, { t: 'delta', text: 'partial' });
        publish(data.streamId, { t: 'error', error: { code: 'unavailable', message: 'the provider is down' } });
        publish(data.streamId, { t: 'delta', text: 'after the end' });
      }, 20);
      return { conversationId: CONVERSATION, messageId: MESSAGE };
    };
    const response = await ask({ message: 'hi' });
    const lines = (await response.text()).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      [
        { t: 'delta', text: 'partial' },
        { t: 'error', error: { code: 'unavailable', message: 'the provider is down' } },
      ],
    );
    assert.equal(calls[0]?.data.subject && (calls[0].data.subject as { kind: string }).kind, 'none');
  });

  test('the client going away mid-answer publishes stop on the stream', async () => {
    let streamId = '';
    onStream = ({ data }) => {
      streamId = data.streamId;
      setTimeout(() => publish(streamId, { t: 'delta', text: 'thinking' }), 20);
      return { conversationId: CONVERSATION, messageId: MESSAGE };
    };
    const abort = new AbortController();
    const response = await ask({ message: 'long answer please' }, VIEWER, address, abort.signal);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /thinking/);
    abort.abort();
    await waitFor(() => stops.length > 0);
    assert.deepEqual(stops, [aiStreamSubjects.stop(streamId)]);
  });

  test('a silent stream ends with a timeout error line and stops the service', async () => {
    let streamId = '';
    onStream = ({ data }) => {
      streamId = data.streamId;
      publish(streamId, { t: 'delta', text: 'then nothing' });
      return { conversationId: CONVERSATION, messageId: MESSAGE };
    };
    const response = await ask({ message: 'hi' }, VIEWER, quietAddress);
    const lines = (await response.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(lines[0], { t: 'delta', text: 'then nothing' });
    assert.equal(lines[1]?.t, 'error');
    assert.equal(lines[1]?.error.code, 'timeout');
    assert.match(lines[1]?.error.message, /the assistant sent nothing for 300 ms/);
    assert.equal(lines.length, 2);
    await waitFor(() => stops.length > 0);
    assert.deepEqual(stops, [aiStreamSubjects.stop(streamId)]);
  });

  test('a refused command is a plain error answer, and whatever the service started is stopped', async () => {
    onStream = () => {
      throw new AppError('not_found', 'no conversation cnv_x');
    };
    const response = await ask({ message: 'hi', conversationId: CONVERSATION });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: { code: 'not_found', message: 'no conversation cnv_x' } });
    await waitFor(() => stops.length > 0);
  });

  test('refused before the ai service is asked: another tenant, a pod of another tenant, bad input', async () => {
    const outsider = await ask({ message: 'hi' }, OUTSIDER);
    assert.equal(outsider.status, 404);
    const crossTenant = await ask({ message: 'hi', subject: { kind: 'pod', tenantId: 'other', podId: 'web' } });
    assert.equal(crossTenant.status, 400);
    assert.match(((await crossTenant.json()) as { error: { message: string } }).error.message, /tenant of the path/);
    const empty = await ask({ message: '' });
    assert.equal(empty.status, 400);
    const extra = await ask({ message: 'hi', streamId: 'chosen-by-the-client-0000' });
    assert.equal(extra.status, 400, 'the stream id is the gateway’s, never the client’s');
    assert.equal(calls.length, 0);
  });

  test('diagnose streams like ask, for the pod of the path', async () => {
    onStream = ({ data }) => {
      setTimeout(() => {
        publish(data.streamId, { t: 'delta', text: 'It exits at once.' });
        publish(data.streamId, done);
      }, 20);
      return { conversationId: CONVERSATION, messageId: MESSAGE };
    };
    const response = await fetch(`${address}/api/v1/tenants/acme/pods/web/diagnose`, {
      method: 'POST',
      headers: { ...VIEWER, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(response.status, 200);
    assert.equal((await response.text()).trimEnd().split('\n').length, 2);
    assert.deepEqual(calls[0]?.data, { tenantId: 'acme', podId: 'web', streamId: calls[0]?.data.streamId });
  });

  test('the plain routes send their command or query with the ids from the path', async () => {
    const config = { source: 'tenant', baseUrl: 'http://llm.example.com/v1', model: 'm', hasApiKey: true };
    const usage = { promptTokens: 5, completionTokens: 7 };
    const cases = [
      {
        method: 'POST',
        url: '/api/v1/tenants/acme/ai/generate',
        body: { prompt: 'an n8n' },
        subject: commandSubject('ai', 'generateSpec'),
        data: { prompt: 'an n8n', tenantId: 'acme' },
        reply: { pods: [], refused: [{ podId: 'n8n', reason: 'privileged mode is refused' }], usage },
        headers: MEMBER,
        status: 200,
      },
      {
        method: 'GET',
        url: '/api/v1/tenants/acme/ai/conversations',
        subject: querySubject('ai', 'listConversations'),
        data: { tenantId: 'acme' },
        reply: { conversations: [] },
        headers: VIEWER,
        status: 200,
      },
      {
        method: 'DELETE',
        url: `/api/v1/tenants/acme/ai/conversations/${CONVERSATION}`,
        subject: commandSubject('ai', 'deleteConversation'),
        data: { tenantId: 'acme', conversationId: CONVERSATION },
        reply: { deleted: true },
        headers: VIEWER,
        status: 204,
      },
      {
        method: 'PATCH',
        url: '/api/v1/tenants/acme/ai/config',
        body: { model: 'm', apiKey: null },
        subject: commandSubject('ai', 'setTenantConfig'),
        data: { model: 'm', apiKey: null, reset: false, tenantId: 'acme' },
        reply: config,
        headers: withCsrf('aps_owner_session_0123456789'),
        status: 200,
      },
      {
        method: 'GET',
        url: '/api/v1/tenants/acme/ai/usage',
        subject: querySubject('ai', 'usage'),
        data: { tenantId: 'acme' },
        reply: { rows: [] },
        headers: withCsrf('aps_owner_session_0123456789'),
        status: 200,
      },
      {
        method: 'GET',
        url: '/api/v1/ai/usage',
        subject: querySubject('ai', 'usage'),
        data: {},
        reply: { rows: [] },
        headers: withCsrf('aps_admin_session_0123456789'),
        status: 200,
      },
    ] as const;
    for (const each of cases) {
      await world.answer(each.subject, () => each.reply);
      world.received.length = 0;
      const response = await world.app.inject({
        method: each.method,
        url: each.url,
        headers: each.headers,
        ...('body' in each ? { payload: each.body } : {}),
      });
      assert.equal(response.statusCode, each.status, `${each.method} ${each.url}: ${response.body}`);
      const sent = world.received.find((r) => r.subject === each.subject);
      assert.deepEqual(sent?.data, each.data, each.url);
      assert.ok(sent?.meta.principal, 'with the caller as principal');
    }
    const viewerConfig = await world.app.inject({
      method: 'GET',
      url: '/api/v1/tenants/acme/ai/config',
      headers: VIEWER,
    });
    assert.equal(viewerConfig.statusCode, 403, 'the provider settings are for tenant admins');
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'timed out waiting');
}
