import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { accepted, foldAt } from '../fold.ts';
import { decideLink } from './decide.ts';
import { linkAggregate } from './events.ts';
import { linkRateLimit } from './rate-limit.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const userId = 'usr_000000000000000000000001';
const TTL = 10 * 60_000;
const issue = { type: 'IssueMagicLink', userId, email: 'a@example.com', ttlMs: TTL } as const;
const issued = () => foldAt(linkAggregate, accepted(decideLink(issue, linkAggregate.initialState, t0)), t0);

const refusal = (decision: unknown): string =>
  decision instanceof AppError ? `${decision.code}: ${decision.message}` : 'accepted';

describe('magic link decider', () => {
  test('a link expires ten minutes after it is issued', () => {
    assert.deepEqual(decideLink(issue, linkAggregate.initialState, t0), [
      { type: 'MagicLinkIssued', data: { userId, email: 'a@example.com', expiresAt: at(TTL).toISOString() } },
    ]);
  });

  test('issuing on an existing link is a conflict', () => {
    assert.match(refusal(decideLink(issue, issued(), t0)), /^conflict/);
  });

  test('a link redeems once before it expires', () => {
    const events = decideLink({ type: 'RedeemMagicLink', sessionId: 'ses_1' }, issued(), at(TTL - 1));
    assert.deepEqual(events, [{ type: 'MagicLinkRedeemed', data: { userId, sessionId: 'ses_1' } }]);
    const used = foldAt(linkAggregate, accepted(events), at(TTL - 1), issued());
    const again = decideLink({ type: 'RedeemMagicLink', sessionId: 'ses_2' }, used, at(TTL - 1));
    assert.match(refusal(again), /^unauthenticated: .*already been used/);
  });

  test('a link is refused from the moment it expires', () => {
    const decision = decideLink({ type: 'RedeemMagicLink', sessionId: 'ses_1' }, issued(), at(TTL));
    assert.match(refusal(decision), /^unauthenticated: .*expired/);
  });

  test('an unknown link is refused', () => {
    const decision = decideLink({ type: 'RedeemMagicLink', sessionId: 'ses_1' }, linkAggregate.initialState, t0);
    assert.match(refusal(decision), /^unauthenticated: .*not valid/);
  });
});

describe('per-address link rate limit', () => {
  const limit = { max: 5, windowMs: 15 * 60_000 };

  test('up to max - 1 links in the window, another may be issued', () => {
    const times = [0, 1, 2, 3].map((minute) => at(minute * 60_000));
    assert.equal(linkRateLimit(times, at(5 * 60_000), limit), undefined);
  });

  test('with max links in the window, it is rate_limited until the oldest leaves the window', () => {
    const times = [0, 1, 2, 3, 4].map((minute) => at(minute * 60_000));
    const error = linkRateLimit(times, at(5 * 60_000), limit);
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'rate_limited');
    assert.deepEqual(error.details, { retryAfterSeconds: 10 * 60 });
  });

  test('links older than the window do not count', () => {
    const times = [0, 1, 2, 3, 4].map((minute) => at(minute * 60_000));
    assert.equal(linkRateLimit(times, at(15 * 60_000), limit), undefined);
  });

  test('the wait is at least one second', () => {
    const times = [0, 0, 0, 0, 0].map(() => at(0));
    const error = linkRateLimit(times, at(15 * 60_000 - 1), limit);
    assert.deepEqual(error?.details, { retryAfterSeconds: 1 });
  });
});
