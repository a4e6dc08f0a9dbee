import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { accepted, foldAt } from '../fold.ts';
import type { User } from '../user/events.ts';
import { checkSession, decideSession } from './decide.ts';
import { sessionAggregate } from './events.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(t0.getTime() + ms);
const userId = 'usr_000000000000000000000001';
const user: User = {
  userId,
  email: 'a@example.com',
  platformAdmin: false,
  disabled: false,
  sessionEpoch: 0,
  tokenEpoch: 0,
  createdAt: t0.toISOString(),
};
const start = { type: 'StartSession', sessionId: 'ses_1', userId, epoch: 0, ttlMs: 30 * DAY } as const;
const renew = { type: 'RenewSession', ttlMs: 30 * DAY, renewEveryMs: HOUR } as const;
const started = () => foldAt(sessionAggregate, accepted(decideSession(start, sessionAggregate.initialState, t0)), t0);

const refusal = (result: unknown): string => (result instanceof AppError ? `${result.code}: ${result.message}` : 'ok');

describe('session decider', () => {
  test('a session starts with a 30-day expiry', () => {
    assert.deepEqual(decideSession(start, sessionAggregate.initialState, t0), [
      { type: 'SessionStarted', data: { sessionId: 'ses_1', userId, epoch: 0, expiresAt: at(30 * DAY).toISOString() } },
    ]);
    assert.match(refusal(decideSession(start, started(), t0)), /^conflict/);
  });

  test('renewal waits an hour after the last move of the expiry', () => {
    assert.deepEqual(decideSession(renew, started(), at(HOUR - 1)), []);
    assert.deepEqual(decideSession(renew, started(), at(HOUR)), [
      { type: 'SessionRenewed', data: { expiresAt: at(HOUR + 30 * DAY).toISOString() } },
    ]);
  });

  test('the expiry slides: a session used within 30 days stays valid past its first expiry', () => {
    const renewedAt = at(29 * DAY);
    const renewed = foldAt(
      sessionAggregate,
      accepted(decideSession(renew, started(), renewedAt)),
      renewedAt,
      started(),
    );
    assert.equal(refusal(checkSession(renewed, user, at(31 * DAY))), 'ok');
    assert.match(refusal(checkSession(started(), user, at(30 * DAY))), /^unauthenticated: .*expired/);
    assert.deepEqual(decideSession(renew, started(), at(30 * DAY)), [], 'an expired session is not renewed');
  });

  test('sign out ends an active session once', () => {
    const events = decideSession({ type: 'EndSession' }, started(), at(1));
    assert.deepEqual(events, [{ type: 'SessionEnded', data: { reason: 'sign-out' } }]);
    const ended = foldAt(sessionAggregate, accepted(events), at(1), started());
    assert.deepEqual(decideSession({ type: 'EndSession' }, ended, at(2)), []);
    assert.deepEqual(decideSession(renew, ended, at(2 * HOUR)), []);
    assert.match(refusal(checkSession(ended, user, at(2))), /^unauthenticated: .*ended/);
    assert.deepEqual(decideSession({ type: 'EndSession' }, sessionAggregate.initialState, t0), []);
  });

  test('a session is refused once its user signed out everywhere or was disabled', () => {
    assert.equal(refusal(checkSession(started(), user, at(1))), 'ok');
    assert.match(
      refusal(checkSession(started(), { ...user, sessionEpoch: 1 }, at(1))),
      /^unauthenticated: .*signed out/,
    );
    assert.match(refusal(checkSession(started(), { ...user, disabled: true }, at(1))), /^unauthenticated: .*disabled/);
    assert.match(refusal(checkSession(started(), undefined, at(1))), /^unauthenticated/);
    assert.match(refusal(checkSession(sessionAggregate.initialState, user, at(1))), /^unauthenticated: .*not valid/);
  });
});
