import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TerminalServerMessage } from '@agentpod/contracts';
import { readServerMessage } from './server-message.ts';

describe("the terminal socket's text frames, read without zod", () => {
  test('accepts exactly what the contract accepts, with the same result', () => {
    const samples: unknown[] = [
      { t: 'ready', sessionId: 'abcdefgh12345678' },
      { t: 'ready', sessionId: 'short' },
      { t: 'ready', sessionId: 'has space in it' },
      { t: 'ready' },
      { t: 'exit', code: 0 },
      { t: 'exit', code: null, signal: 'SIGKILL' },
      { t: 'exit', code: 1.5 },
      { t: 'exit', code: '1' },
      { t: 'exit', code: 2, signal: 9 },
      { t: 'error', error: { code: 'forbidden', message: 'no' } },
      { t: 'error', error: { code: 'forbidden' } },
      { t: 'error', error: { code: 'no_such_code', message: 'no' } },
      { t: 'error', error: null },
      { t: 'error' },
      { t: 'nope' },
      { sessionId: 'abcdefgh12345678' },
      null,
      [],
      42,
    ];
    for (const sample of samples) {
      const schema = TerminalServerMessage.safeParse(sample);
      const read = readServerMessage(JSON.stringify(sample));
      assert.equal(read !== undefined, schema.success, JSON.stringify(sample));
      if (schema.success) assert.deepEqual(read, schema.data, JSON.stringify(sample));
    }
  });

  test('not JSON: ignored', () => {
    assert.equal(readServerMessage('{'), undefined);
    assert.equal(readServerMessage(''), undefined);
  });
});
