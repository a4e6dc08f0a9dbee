import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLaterLogTime, logTimeSecond, parseLogTime } from './log-time.ts';

describe('Docker log times', () => {
  test('compare by value, whatever the number of fraction digits', () => {
    assert.equal(isLaterLogTime('2025-01-01T00:00:00.1Z', '2025-01-01T00:00:00.09Z'), true);
    assert.equal(isLaterLogTime('2025-01-01T00:00:00.09Z', '2025-01-01T00:00:00.1Z'), false);
    assert.equal(isLaterLogTime('2025-01-01T00:00:00.100000000Z', '2025-01-01T00:00:00.1Z'), false);
    assert.equal(isLaterLogTime('2025-01-01T00:00:01Z', '2025-01-01T00:00:00.999999999Z'), true);
    assert.equal(isLaterLogTime('2025-01-01T00:00:00.000000001Z', '2025-01-01T00:00:00Z'), true);
  });

  test('an unreadable stamp counts as later (a line is sent twice rather than lost)', () => {
    assert.equal(isLaterLogTime('', '2025-01-01T00:00:00Z'), true);
    assert.equal(isLaterLogTime('2025-01-01T00:00:00Z', 'yesterday'), true);
    assert.equal(parseLogTime('2025-01-01T00:00:00.1234567890Z'), undefined);
  });

  test('the whole second of a stamp, for Docker’s since', () => {
    assert.equal(logTimeSecond('2025-01-01T00:00:05.987654321Z')?.toISOString(), '2025-01-01T00:00:05.000Z');
    assert.equal(logTimeSecond('nonsense'), undefined);
  });
});
