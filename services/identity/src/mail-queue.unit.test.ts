import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { smtpFailure } from './mail-queue.ts';

describe('what a failed send may log', () => {
  test('the codes of an SMTP refusal, never its message (which echoes the recipient)', () => {
    const refusal = Object.assign(
      new Error("Can't send mail - all recipients were rejected: 550 5.1.1 <a@example.com>: no such mailbox"),
      { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: '550 5.1.1 <a@example.com>' },
    );
    const failure = smtpFailure(new AppError('unavailable', 'the email could not be sent', { cause: refusal }));
    assert.deepEqual(failure, {
      code: 'unavailable',
      name: 'Error',
      smtpCode: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
    });
    assert.doesNotMatch(JSON.stringify(failure), /@/);
  });

  test('anything else: its name only', () => {
    assert.deepEqual(smtpFailure(new TypeError('a@example.com')), { name: 'TypeError' });
    assert.deepEqual(smtpFailure('a@example.com'), {});
  });
});
