import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerTurn, endTurn, foldChunk, type Turn, turnFromView } from './turn.ts';

const MESSAGE_ID = 'msg_0123456789abcdefghij';
const usage = { promptTokens: 40, completionTokens: 7 };

describe('an answer built from its chunks', () => {
  test('deltas append in order; done keeps the text and adds usage, id and commands', () => {
    let turn: Turn = answerTurn('local-1');
    turn = foldChunk(turn, { t: 'delta', text: 'The pod ' });
    turn = foldChunk(turn, { t: 'delta', text: 'runs out of memory.' });
    assert.equal(turn.status, 'streaming');
    const commands = [{ command: 'free -m', explanation: 'memory left' }];
    turn = foldChunk(turn, { t: 'done', messageId: MESSAGE_ID, usage, stopped: false, commands });
    assert.deepEqual(
      {
        content: turn.content,
        status: turn.status,
        messageId: turn.messageId,
        usage: turn.usage,
        commands: turn.commands,
      },
      { content: 'The pod runs out of memory.', status: 'done', messageId: MESSAGE_ID, usage, commands },
    );
  });

  test('done with stopped marks the answer stopped', () => {
    const turn = foldChunk(foldChunk(answerTurn('a'), { t: 'delta', text: 'Par' }), {
      t: 'done',
      messageId: MESSAGE_ID,
      usage,
      stopped: true,
      commands: [],
    });
    assert.equal(turn.status, 'stopped');
    assert.equal(turn.content, 'Par');
  });

  test('an error ends it with the message for the user; the text so far stays', () => {
    const error = { code: 'unavailable' as const, message: 'The AI provider cannot be reached.' };
    const turn = foldChunk(foldChunk(answerTurn('a'), { t: 'delta', text: 'Looking' }), { t: 'error', error });
    assert.deepEqual([turn.status, turn.error, turn.content], ['error', error, 'Looking']);
  });

  test('a finished answer ignores anything after', () => {
    const done = foldChunk(answerTurn('a'), { t: 'done', messageId: MESSAGE_ID, usage, stopped: false, commands: [] });
    assert.equal(foldChunk(done, { t: 'delta', text: 'more' }), done);
    assert.equal(foldChunk(done, { t: 'error', error: { code: 'internal', message: 'x' } }), done);
    assert.equal(endTurn(done, { how: 'cut' }), done);
  });

  test('stopped by the reader, cut off, or refused before it started: never left streaming', () => {
    const partial = foldChunk(answerTurn('a'), { t: 'delta', text: 'Half' });
    assert.equal(endTurn(partial, { how: 'stopped' }).status, 'stopped');
    const cut = endTurn(partial, { how: 'cut' });
    assert.equal(cut.status, 'error');
    assert.match(cut.error?.message ?? '', /cut off/);
    const refused = endTurn(answerTurn('b'), { how: 'failed', error: { code: 'forbidden', message: 'No.' } });
    assert.deepEqual([refused.status, refused.error?.message], ['error', 'No.']);
  });

  test('a stored message reads back as a finished turn', () => {
    const base = { id: MESSAGE_ID, content: 'hi', usage: null, createdAt: '2025-01-01T00:00:00Z' };
    assert.equal(turnFromView({ ...base, role: 'user', stopped: false, error: null }).status, 'done');
    assert.equal(turnFromView({ ...base, role: 'assistant', stopped: true, error: null }).status, 'stopped');
    const failed = turnFromView({
      ...base,
      role: 'assistant',
      stopped: false,
      error: { code: 'timeout', message: 't' },
    });
    assert.equal(failed.status, 'error');
  });
});
