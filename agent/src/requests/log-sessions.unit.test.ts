import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AgentFrame, LogStreamMessage } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import type { LogLine, LogOptions } from '../runtime/index.ts';
import { LogSessions } from './log-sessions.ts';

const logger = createLogger('agent-test', 'silent');
const line = (time: string, text: string): LogLine => ({ stream: 'stdout', time, text });

/** A followed log that yields `lines`, then stays open until aborted (a running container) unless `ends`. */
function followedLogs(lines: LogLine[], ends = false) {
  const calls: LogOptions[] = [];
  return {
    calls,
    logs: async function* (_ref: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
      calls.push(options);
      yield* lines;
      if (ends) return;
      await new Promise((resolve) => options.signal?.addEventListener('abort', resolve, { once: true }));
    },
  };
}

/** Waits, turn by turn, until `condition` holds (the test runner's timeout catches a hang). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

function setup(runtime: ReturnType<typeof followedLogs>, writable = true) {
  const sent: { frame: AgentFrame; durable: boolean }[] = [];
  const sessions = new LogSessions({
    runtime,
    logger,
    send: (frame, durable) => sent.push({ frame, durable }),
    writable: async () => writable,
    maxSessions: 2,
  });
  const messages = (session: string) =>
    sent
      .filter((s) => s.frame.t === 'pub' && s.frame.session === session)
      .map((s) => LogStreamMessage.parse(JSON.parse((s.frame as { data: string }).data)));
  const ended = (session: string) => until(() => messages(session).some((m) => m.t === 'end'));
  return { sessions, sent, messages, ended };
}

describe('followed log sessions', () => {
  test('streams the lines after the replied ones, then ends when the container stops', async () => {
    const runtime = followedLogs(
      [
        line('2025-01-01T00:00:05.1Z', 'old'),
        line('2025-01-01T00:00:05.2Z', 'replied'),
        line('2025-01-01T00:00:05.21Z', 'new'),
      ],
      true,
    );
    const { sessions, messages, sent, ended } = setup(runtime);
    sessions.follow({ sessionId: 'session-a', containerId: 'c1', after: line('2025-01-01T00:00:05.2Z', 'replied') });
    await ended('session-a');
    assert.deepEqual(messages('session-a'), [
      { t: 'line', line: line('2025-01-01T00:00:05.21Z', 'new') },
      { t: 'end' },
    ]);
    assert.equal(runtime.calls[0]?.since?.toISOString(), '2025-01-01T00:00:05.000Z');
    assert.equal(runtime.calls[0]?.follow, true);
    // Lines are not worth keeping over a reconnect; the end is.
    assert.deepEqual(
      sent.map((s) => s.durable),
      [false, true],
    );
    assert.equal(sessions.size, 0);
  });

  test('a close on the session ends it; other messages and unknown sessions are ignored', async () => {
    const { sessions, messages, ended } = setup(followedLogs([line('2025-01-01T00:00:06Z', 'x')]));
    sessions.follow({ sessionId: 'session-b', containerId: 'c1', after: undefined });
    await until(() => messages('session-b').length === 1);
    sessions.control('session-b', '{"t":"resize"}');
    sessions.control('session-b', 'not json');
    sessions.control('session-zzz', '{"t":"close"}');
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sessions.size, 1);
    assert.equal(messages('session-b').length, 1);
    sessions.control('session-b', '{"t":"close"}');
    await ended('session-b');
    assert.deepEqual(messages('session-b'), [{ t: 'line', line: line('2025-01-01T00:00:06Z', 'x') }, { t: 'end' }]);
    assert.equal(sessions.size, 0);
  });

  test('a dropped socket ends every session; a retried follow does not start a second stream', async () => {
    const runtime = followedLogs([]);
    const { sessions, messages, ended } = setup(runtime);
    sessions.follow({ sessionId: 'session-c', containerId: 'c1', after: undefined });
    sessions.follow({ sessionId: 'session-c', containerId: 'c1', after: undefined });
    sessions.follow({ sessionId: 'session-d', containerId: 'c2', after: undefined });
    assert.throws(
      () => sessions.follow({ sessionId: 'session-e', containerId: 'c3', after: undefined }),
      /close one first/,
    );
    await until(() => runtime.calls.length === 2);
    sessions.closeAll();
    await ended('session-c');
    await ended('session-d');
    assert.equal(runtime.calls.length, 2);
    assert.deepEqual(messages('session-c'), [{ t: 'end' }]);
    assert.deepEqual(messages('session-d'), [{ t: 'end' }]);
  });

  test('a follow that fails ends with the error', async () => {
    const failing = {
      calls: [],
      logs: async function* (): AsyncGenerator<LogLine> {
        yield* [];
        throw Object.assign(new Error('No such container: c9'), { name: 'AppError' });
      },
    };
    const { sessions, messages, ended } = setup(failing);
    sessions.follow({ sessionId: 'session-f', containerId: 'c9', after: undefined });
    await ended('session-f');
    const [end] = messages('session-f');
    assert.equal(end?.t, 'end');
    assert.equal(end?.t === 'end' && end.error?.code, 'internal');
  });
});
