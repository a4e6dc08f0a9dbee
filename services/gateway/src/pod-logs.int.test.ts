import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  type AgentOpInput,
  AppError,
  agentSubjects,
  type LogLine,
  type LogStreamMessage,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { createLogger, handler, serveRequests } from '@agentpod/kit';
import type { Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import { CREDENTIALS, type FakeWorld, startFakeWorld } from './test-support/fake-services.ts';
import { NODE_ID } from './test-support/pod-fixtures.ts';

/*
 * GET …/logs against a stand-in pods service (logTarget) and a stand-in agent on real NATS: the agent answers the
 * `logs` op on its node's command subject and, when asked to follow, publishes on the session's `.out` subject,
 * the way the gateway's agent socket relays a real agent's `pub` frames.
 */

const VIEWER = { cookie: 'agentpod_session=aps_viewer_session_012345678' };
const OUTSIDER = { cookie: 'agentpod_session=aps_outsider_session_0123456' };
const LOGS = '/api/v1/tenants/acme/pods/web/logs';
const line = (n: number, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  stream,
  time: `2025-01-02T03:04:0${n}.000Z`,
  text: `line ${n}`,
});

type LogsCall = { data: AgentOpInput<'logs'>; meta: RequestMeta };

describe('pod logs: the last lines from the agent, or an NDJSON relay of its log session', () => {
  let world: FakeWorld;
  let address: string;
  let agent: Subscription | undefined;
  const calls: LogsCall[] = [];
  /** What the stand-in agent does when asked; returns the tail lines. */
  let onLogs: (call: LogsCall) => LogLine[] = () => [];

  const startAgent = () => {
    agent = serveRequests({
      nc: world.nc,
      subject: agentSubjects.command(NODE_ID, 'logs'),
      queue: 'agent',
      logger: createLogger('agent', 'silent'),
      handler: handler(z.unknown(), async (data, meta) => {
        const call = { data: data as AgentOpInput<'logs'>, meta };
        calls.push(call);
        return { lines: onLogs(call) };
      }),
    });
  };
  const publish = (sessionId: string, message: LogStreamMessage | string) =>
    world.nc.publish(
      agentSubjects.session(NODE_ID, sessionId, 'out'),
      typeof message === 'string' ? message : JSON.stringify(message),
    );

  before(async () => {
    world = await startFakeWorld({ followRecheckMs: 100 });
    await world.answer(querySubject('pods', 'logTarget'), () => ({ nodeId: NODE_ID, containerId: 'c0ffee' }));
    startAgent();
    await world.nc.flush();
    address = await world.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    agent?.unsubscribe();
    await world?.close();
  });
  beforeEach(() => {
    calls.length = 0;
    onLogs = () => [];
  });

  test('without follow: the tail from the agent as JSON; the node learns nothing about the caller', async () => {
    onLogs = () => [line(1), line(2, 'stderr')];
    const response = await world.app.inject({ method: 'GET', url: `${LOGS}?tail=2`, headers: VIEWER });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { lines: [line(1), line(2, 'stderr')] });
    assert.deepEqual(calls[0]?.data, { containerId: 'c0ffee', tail: 2 });
    assert.deepEqual(calls[0]?.meta.actor, { kind: 'system', id: 'gateway' });
    assert.equal(calls[0]?.meta.principal, undefined);
    const target = world.received.find((r) => r.subject === 'pods.qry.logTarget');
    assert.deepEqual(target?.data, { tenantId: 'acme', podId: 'web' });
    assert.ok(target?.meta.principal, 'the pods service decides who may read, from the principal');
  });

  test('no access: the gateway refuses before asking anyone', async () => {
    const before = calls.length;
    const response = await world.app.inject({ method: 'GET', url: LOGS, headers: OUTSIDER });
    assert.equal(response.statusCode, 404);
    assert.equal(calls.length, before);
  });

  test('follow: the tail, then each line the agent publishes, in order; the agent is told to close', async () => {
    let sessionId = '';
    onLogs = ({ data }) => {
      sessionId = data.sessionId ?? '';
      // Published before the answer: the gateway must still print it after the tail.
      publish(sessionId, { t: 'line', line: line(3) });
      return [line(1), line(2)];
    };
    const abort = new AbortController();
    const response = await fetch(`${address}${LOGS}?follow=true&tail=2`, { headers: VIEWER, signal: abort.signal });
    assert.equal(response.status, 200);
    assert.match(String(response.headers.get('content-type')), /application\/x-ndjson/);
    assert.match(sessionId, /^[A-Za-z0-9_-]{8,64}$/);
    assert.deepEqual(calls[0]?.data, { containerId: 'c0ffee', tail: 2, sessionId });
    const lines = readLines(response);
    const next = async () => JSON.parse(String((await lines.next()).value));
    assert.deepEqual([await next(), await next(), await next()], [line(1), line(2), line(3)]);

    publish(sessionId, 'not json');
    publish(sessionId, JSON.stringify({ t: 'line', line: { text: 'no stream' } }));
    publish(sessionId, { t: 'line', line: line(4, 'stderr') });
    assert.deepEqual(await next(), line(4, 'stderr'), 'malformed messages are dropped, the stream goes on');

    const closes: string[] = [];
    const control = world.nc.subscribe(agentSubjects.session(NODE_ID, sessionId, 'in'), {
      callback: (_error, msg) => {
        closes.push(msg.string());
      },
    });
    await world.nc.flush();
    abort.abort();
    await waitFor(() => closes.length > 0);
    control.unsubscribe();
    assert.deepEqual(JSON.parse(closes[0] ?? ''), { t: 'close' });
  });

  test("follow: the agent's end closes the stream, with its error as the last line", async () => {
    let sessionId = '';
    onLogs = ({ data }) => {
      sessionId = data.sessionId ?? '';
      return [line(1)];
    };
    const response = await fetch(`${address}${LOGS}?follow=true`, { headers: VIEWER });
    const lines = readLines(response);
    assert.deepEqual(JSON.parse(String((await lines.next()).value)), line(1));
    publish(sessionId, { t: 'end', error: { code: 'not_found', message: 'no such container: c0ffee' } });
    assert.deepEqual(JSON.parse(String((await lines.next()).value)), {
      error: { code: 'not_found', message: 'no such container: c0ffee' },
    });
    assert.equal((await lines.next()).done, true);
  });

  test('follow: a revoked credential ends the stream at the next re-check', async () => {
    onLogs = () => [line(1)];
    const response = await fetch(`${address}${LOGS}?follow=true`, { headers: VIEWER });
    const lines = readLines(response);
    assert.deepEqual(JSON.parse(String((await lines.next()).value)), line(1));
    await world.answer(querySubject('identity', 'authenticate'), () => {
      throw new AppError('unauthenticated', 'revoked');
    });
    try {
      assert.equal(JSON.parse(String((await lines.next()).value)).error.code, 'unauthenticated');
      assert.equal((await lines.next()).done, true);
    } finally {
      await world.answer(querySubject('identity', 'authenticate'), (data) => {
        const principal = CREDENTIALS[(data as { credential: string }).credential];
        if (!principal) throw new AppError('unauthenticated', 'unknown credential');
        return principal;
      });
    }
  });

  test('a node whose agent is not connected: 503 saying the node is unreachable', async () => {
    agent?.unsubscribe();
    await world.nc.flush();
    try {
      for (const url of [LOGS, `${LOGS}?follow=true`]) {
        const response = await world.app.inject({ method: 'GET', url, headers: VIEWER });
        assert.equal(response.statusCode, 503, response.body);
        assert.match(response.json().error.message, new RegExp(`node ${NODE_ID} is unreachable`));
      }
    } finally {
      startAgent();
      await world.nc.flush();
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'timed out waiting');
}

async function* readLines(response: Response): AsyncGenerator<string, void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
}
