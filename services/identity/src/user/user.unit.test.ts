import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { accepted, foldAt } from '../fold.ts';
import { decideUser } from './decide.ts';
import { userAggregate } from './events.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const userId = 'usr_000000000000000000000001';
const registered = () =>
  foldAt(
    userAggregate,
    [{ type: 'UserRegistered', data: { userId, email: 'a@example.com', platformAdmin: false } }],
    t0,
  );

const code = (decision: unknown) => (decision instanceof AppError ? decision.code : 'no error');

describe('user decider', () => {
  test('registering a new user records it; registering it again decides nothing', () => {
    const events = decideUser({ type: 'RegisterUser', userId, email: 'a@example.com' }, userAggregate.initialState);
    assert.deepEqual(events, [
      { type: 'UserRegistered', data: { userId, email: 'a@example.com', platformAdmin: false } },
    ]);
    assert.deepEqual(decideUser({ type: 'RegisterUser', userId, email: 'a@example.com' }, registered()), []);
  });

  test('a registered user starts enabled, at epoch 0, with the time it was registered', () => {
    assert.deepEqual(registered(), {
      registered: true,
      userId,
      email: 'a@example.com',
      platformAdmin: false,
      disabled: false,
      sessionEpoch: 0,
      tokenEpoch: 0,
      createdAt: t0.toISOString(),
    });
  });

  test('commands on an unknown user are not_found', () => {
    for (const command of [
      { type: 'GrantPlatformAdmin' } as const,
      { type: 'SetUserDisabled', disabled: true, by: undefined } as const,
      { type: 'RevokeSessions' } as const,
    ]) {
      assert.equal(code(decideUser(command, userAggregate.initialState)), 'not_found');
    }
  });

  test('granting platform admin once; again decides nothing', () => {
    const events = decideUser({ type: 'GrantPlatformAdmin' }, registered());
    assert.deepEqual(events, [{ type: 'PlatformAdminGranted', data: { userId } }]);
    const admin = foldAt(userAggregate, accepted(events), t0, registered());
    assert.equal(admin.registered && admin.platformAdmin, true);
    assert.deepEqual(decideUser({ type: 'GrantPlatformAdmin' }, admin), []);
  });

  test('sign out everywhere moves the session epoch and leaves the token epoch', () => {
    const events = decideUser({ type: 'RevokeSessions' }, registered());
    const state = foldAt(userAggregate, accepted(events), t0, registered());
    assert.ok(state.registered);
    assert.equal(state.sessionEpoch, 1);
    assert.equal(state.tokenEpoch, 0);
  });

  test('disabling moves both epochs for good: enabling again does not restore them', () => {
    const disable = decideUser(
      { type: 'SetUserDisabled', disabled: true, by: 'usr_000000000000000000000009' },
      registered(),
    );
    assert.deepEqual(disable, [{ type: 'UserDisabled', data: { userId } }]);
    const disabled = foldAt(userAggregate, accepted(disable), t0, registered());
    assert.deepEqual(decideUser({ type: 'SetUserDisabled', disabled: true, by: undefined }, disabled), []);
    const enable = decideUser({ type: 'SetUserDisabled', disabled: false, by: undefined }, disabled);
    assert.deepEqual(enable, [{ type: 'UserEnabled', data: { userId } }]);
    const enabled = foldAt(userAggregate, accepted(enable), t0, disabled);
    assert.ok(enabled.registered);
    assert.equal(enabled.disabled, false);
    assert.equal(enabled.sessionEpoch, 1);
    assert.equal(enabled.tokenEpoch, 1);
  });

  test('nobody can disable themselves', () => {
    const decision = decideUser({ type: 'SetUserDisabled', disabled: true, by: userId }, registered());
    assert.equal(code(decision), 'invalid');
  });
});
