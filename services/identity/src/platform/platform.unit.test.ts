import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { accepted, foldAt } from '../fold.ts';
import { decidePlatform } from './decide.ts';
import { platformAggregate } from './events.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const alice = 'usr_000000000000000000000001';
const bob = 'usr_000000000000000000000002';
const bootstrapped = () => foldAt(platformAggregate, [{ type: 'PlatformBootstrapped', data: { userId: alice } }], t0);

describe('platform bootstrap decider', () => {
  test('the first bootstrap records its user', () => {
    const events = accepted(
      decidePlatform({ type: 'Bootstrap', userId: alice, userIsPlatformAdmin: false }, platformAggregate.initialState),
    );
    assert.deepEqual(events, [{ type: 'PlatformBootstrapped', data: { userId: alice } }]);
    assert.deepEqual(foldAt(platformAggregate, events, t0), { bootstrappedBy: alice });
  });

  test('a bootstrap for someone else after it happened is a conflict', () => {
    const decision = decidePlatform({ type: 'Bootstrap', userId: bob, userIsPlatformAdmin: false }, bootstrapped());
    assert.ok(decision instanceof AppError);
    assert.equal(decision.code, 'conflict');
  });

  test('the same user again once they are admin is a conflict: bootstrap runs once', () => {
    const decision = decidePlatform({ type: 'Bootstrap', userId: alice, userIsPlatformAdmin: true }, bootstrapped());
    assert.ok(decision instanceof AppError);
    assert.equal(decision.code, 'conflict');
  });

  test('the same user again before they became admin finishes an interrupted bootstrap', () => {
    assert.deepEqual(
      decidePlatform({ type: 'Bootstrap', userId: alice, userIsPlatformAdmin: false }, bootstrapped()),
      [],
    );
  });
});
