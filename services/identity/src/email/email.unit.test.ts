import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accepted, foldAt } from '../fold.ts';
import { decideEmail } from './decide.ts';
import { emailAggregate } from './events.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const first = 'usr_000000000000000000000001';
const second = 'usr_000000000000000000000002';

describe('email claim decider', () => {
  test('the first claim of an address wins; a later claim decides nothing and the first owner stays', () => {
    const claim = accepted(
      decideEmail({ type: 'ClaimEmail', userId: first, email: 'a@example.com' }, emailAggregate.initialState),
    );
    assert.deepEqual(claim, [{ type: 'EmailClaimed', data: { userId: first, email: 'a@example.com' } }]);
    const claimed = foldAt(emailAggregate, claim, t0);
    assert.deepEqual(claimed, { claimed: true, userId: first, email: 'a@example.com' });
    assert.deepEqual(decideEmail({ type: 'ClaimEmail', userId: second, email: 'a@example.com' }, claimed), []);
  });

  test('a second stored claim (a bug) does not move the address to another user', () => {
    const state = foldAt(
      emailAggregate,
      [
        { type: 'EmailClaimed', data: { userId: first, email: 'a@example.com' } },
        { type: 'EmailClaimed', data: { userId: second, email: 'a@example.com' } },
      ],
      t0,
    );
    assert.equal(state.claimed && state.userId, first);
  });
});
