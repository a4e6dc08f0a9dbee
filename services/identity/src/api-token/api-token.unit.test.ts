import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { sha256 } from '../credentials.ts';
import { accepted, foldAt } from '../fold.ts';
import type { User } from '../user/events.ts';
import { checkApiToken, decideToken, type TokenCommand } from './decide.ts';
import { tokenAggregate } from './events.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(t0.getTime() + ms);
const userId = 'usr_000000000000000000000001';
const tokenId = 'tok_000000000000000000000001';
const secretHash = sha256('secret');
const user: User = {
  userId,
  email: 'a@example.com',
  platformAdmin: false,
  disabled: false,
  sessionEpoch: 0,
  tokenEpoch: 0,
  createdAt: t0.toISOString(),
};
const create = (overrides: Partial<Extract<TokenCommand, { type: 'CreateApiToken' }>> = {}): TokenCommand => ({
  type: 'CreateApiToken',
  tokenId,
  userId,
  name: 'ci',
  role: 'member',
  tenantId: 'acme',
  expiresInMs: undefined,
  notAfter: undefined,
  secretHash,
  epoch: 0,
  ...overrides,
});
const created = (overrides: Parameters<typeof create>[0] = {}) =>
  foldAt(tokenAggregate, accepted(decideToken(create(overrides), tokenAggregate.initialState, t0)), t0);
const refusal = (result: unknown): string => (result instanceof AppError ? `${result.code}: ${result.message}` : 'ok');

describe('API token decider', () => {
  test('a token is created with its hash, role, tenant (also on the envelope) and no expiry unless asked', () => {
    assert.deepEqual(decideToken(create(), tokenAggregate.initialState, t0), [
      {
        type: 'ApiTokenCreated',
        tenantId: 'acme',
        data: { tokenId, userId, name: 'ci', role: 'member', tenantId: 'acme', secretHash, epoch: 0 },
      },
    ]);
    assert.match(refusal(decideToken(create(), created(), t0)), /^conflict/);
  });

  test('the expiry is now + lifetime, capped by notAfter (a token made with a token never outlives it)', () => {
    const withLifetime = created({ expiresInMs: 30 * DAY });
    assert.equal(withLifetime.status !== 'none' && withLifetime.expiresAt, at(30 * DAY).toISOString());
    const capped = created({ expiresInMs: 30 * DAY, notAfter: at(DAY).toISOString() });
    assert.equal(capped.status !== 'none' && capped.expiresAt, at(DAY).toISOString());
    const onlyCap = created({ notAfter: at(DAY).toISOString() });
    assert.equal(onlyCap.status !== 'none' && onlyCap.expiresAt, at(DAY).toISOString());
  });

  test('revoking: once, then nothing; an unknown token is not_found', () => {
    const events = decideToken({ type: 'RevokeApiToken' }, created(), t0);
    assert.deepEqual(events, [{ type: 'ApiTokenRevoked', tenantId: 'acme', data: { tokenId } }]);
    const revoked = foldAt(tokenAggregate, accepted(events), t0, created());
    assert.deepEqual(decideToken({ type: 'RevokeApiToken' }, revoked, t0), []);
    assert.match(refusal(decideToken({ type: 'RevokeApiToken' }, tokenAggregate.initialState, t0)), /^not_found/);
  });
});

describe('API token check', () => {
  test('a live token with the right secret passes', () => {
    assert.equal(refusal(checkApiToken(created(), secretHash, user, t0)), 'ok');
  });

  test('a wrong secret, an unknown token, or another user are refused alike', () => {
    assert.match(refusal(checkApiToken(created(), sha256('other'), user, t0)), /^unauthenticated: .*not valid/);
    assert.match(refusal(checkApiToken(tokenAggregate.initialState, secretHash, user, t0)), /not valid/);
    assert.match(refusal(checkApiToken(created(), secretHash, { ...user, userId: 'usr_x' }, t0)), /not valid/);
  });

  test('a revoked or expired token is refused', () => {
    const revoked = foldAt(tokenAggregate, [{ type: 'ApiTokenRevoked', data: { tokenId } }], t0, created());
    assert.match(refusal(checkApiToken(revoked, secretHash, user, t0)), /revoked/);
    const expiring = created({ expiresInMs: DAY });
    assert.equal(refusal(checkApiToken(expiring, secretHash, user, at(DAY - 1))), 'ok');
    assert.match(refusal(checkApiToken(expiring, secretHash, user, at(DAY))), /expired/);
  });

  test('a disabled user loses the token, and enabling them again does not bring it back', () => {
    assert.match(refusal(checkApiToken(created(), secretHash, { ...user, disabled: true }, t0)), /disabled/);
    assert.match(refusal(checkApiToken(created(), secretHash, { ...user, tokenEpoch: 1 }, t0)), /not valid/);
  });
});
