import { describe, test } from 'node:test';
import {
  added,
  given,
  HASH,
  ids,
  invited,
  OTHER_HASH,
  principal,
  T,
  team,
  thenEvents,
  thenRefused,
  viaToken,
  when,
} from './given.testing.ts';

const INV = 'inv_bbbbbbbbbbbbbbbbbbbbbbbb';
const invite = (role: 'viewer' | 'member' | 'admin' | 'owner', email = 'bob@example.com') =>
  ({ type: 'InviteMember', tenantId: T, email, role, invitationId: INV, tokenHash: OTHER_HASH }) as const;
const SEVEN_DAYS_LATER = '2026-03-08T12:00:00.000Z';
const createdEvent = (role: 'viewer' | 'member' | 'admin' | 'owner', email = 'bob@example.com') =>
  invited(email, role, { id: INV, hash: OTHER_HASH, expiresAt: SEVEN_DAYS_LATER });

describe('invite a member', () => {
  test('an admin invites by email with a role no higher than its own; it expires in 7 days', () => {
    thenEvents(when(given(...team), invite('admin'), principal('tadmin')), [createdEvent('admin')]);
  });

  test('a member inviting an owner is refused (and a member may not invite at all)', () => {
    thenRefused(when(given(...team), invite('owner'), principal('member')), 'forbidden');
    thenRefused(when(given(...team), invite('viewer'), principal('member')), 'forbidden', /admin role/);
  });

  test('an admin inviting an owner is refused; the owner may', () => {
    thenRefused(when(given(...team), invite('owner'), principal('tadmin')), 'forbidden', /cannot invite an owner/);
    thenEvents(when(given(...team), invite('owner'), principal('owner')), [createdEvent('owner')]);
  });

  test('a viewer token invites nobody; a stranger gets not_found', () => {
    thenRefused(when(given(...team), invite('viewer'), viaToken('owner', 'viewer')), 'forbidden', /read-only/);
    thenRefused(when(given(...team), invite('viewer'), principal('stranger')), 'not_found');
  });

  test('an existing member cannot be invited', () => {
    thenRefused(when(given(...team), invite('admin', 'member@example.com'), principal('owner')), 'conflict');
  });

  test('inviting an address again replaces its live invitation', () => {
    thenEvents(when(given(...team, invited('bob@example.com', 'viewer')), invite('member'), principal('tadmin')), [
      { type: 'InvitationRevoked', data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa' } },
      createdEvent('member'),
    ]);
  });

  test("an admin cannot replace an owner's invitation", () => {
    const state = given(...team, invited('bob@example.com', 'owner'));
    thenRefused(when(state, invite('member'), principal('tadmin')), 'forbidden');
  });

  test('an expired invitation is left as it is', () => {
    const state = given(...team, invited('bob@example.com', 'viewer', { expiresAt: '2026-02-01T00:00:00.000Z' }));
    thenEvents(when(state, invite('member'), principal('tadmin')), [createdEvent('member')]);
  });
});

describe('accept an invitation', () => {
  const accept = { type: 'AcceptInvitation', tenantId: T, tokenHash: HASH } as const;
  const pending = given(...team, invited('bob@example.com', 'admin'));
  const accepted = {
    type: 'InvitationAccepted',
    data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa', userId: ids.bob },
  } as const;

  test('the invited address joins with the invited role', () => {
    thenEvents(when(pending, accept, principal('bob')), [
      { type: 'MemberAdded', data: { userId: ids.bob, email: 'bob@example.com', role: 'admin' } },
      accepted,
    ]);
  });

  test('the address is compared without regard to case', () => {
    const decision = when(pending, accept, { ...principal('bob'), email: 'Bob@Example.com' });
    thenEvents(decision, [
      { type: 'MemberAdded', data: { userId: ids.bob, email: 'bob@example.com', role: 'admin' } },
      accepted,
    ]);
  });

  test('an invitation redeemed by another address is refused', () => {
    thenRefused(when(pending, accept, principal('stranger')), 'forbidden', /another address/);
  });

  test('a token that matches no invitation is not_found', () => {
    thenRefused(when(pending, { ...accept, tokenHash: OTHER_HASH }, principal('bob')), 'not_found');
  });

  test('an expired, revoked or already accepted invitation is refused', () => {
    thenRefused(when(pending, accept, principal('bob'), new Date('2026-03-06T00:00:00Z')), 'conflict', /expired/);
    const revoked = given(...team, invited('bob@example.com', 'admin'), {
      type: 'InvitationRevoked',
      data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa' },
    });
    thenRefused(when(revoked, accept, principal('bob')), 'conflict', /revoked/);
    const done = given(...team, invited('bob@example.com', 'admin'), added('bob', 'admin'), accepted);
    thenRefused(when(done, accept, principal('bob')), 'conflict', /accepted/);
  });

  test('a viewer token cannot accept; nor a token confined to another tenant', () => {
    thenRefused(when(pending, accept, viaToken('bob', 'viewer')), 'forbidden', /read-only/);
    thenRefused(when(pending, accept, viaToken('bob', 'member', 'other')), 'forbidden');
  });

  test('a member accepting keeps the higher of its role and the invited one', () => {
    const asViewer = given(...team, invited('bob@example.com', 'admin'), added('bob', 'viewer'));
    thenEvents(when(asViewer, accept, principal('bob')), [
      { type: 'MemberRoleChanged', data: { userId: ids.bob, role: 'admin' } },
      accepted,
    ]);
    const asOwner = given(...team, invited('bob@example.com', 'admin'), added('bob', 'owner'));
    thenEvents(when(asOwner, accept, principal('bob')), [accepted]);
  });

  test('a deleted tenant takes no one in', () => {
    const deleted = given(...team, invited('bob@example.com', 'admin'), {
      type: 'TenantDeleted',
      data: { podsDeleted: 0 },
    });
    thenRefused(when(deleted, accept, principal('bob')), 'not_found');
  });
});

describe('revoke an invitation', () => {
  const revoke = { type: 'RevokeInvitation', tenantId: T, invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa' } as const;
  const revoked = { type: 'InvitationRevoked', data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa' } } as const;

  test('an admin revokes a pending invitation; revoking twice changes nothing', () => {
    const state = given(...team, invited('bob@example.com', 'member'));
    thenEvents(when(state, revoke, principal('tadmin')), [revoked]);
    thenEvents(when(given(...team, invited('bob@example.com', 'member'), revoked), revoke, principal('tadmin')), []);
  });

  test("an admin cannot revoke an owner's invitation; a member cannot revoke any", () => {
    thenRefused(when(given(...team, invited('bob@example.com', 'owner')), revoke, principal('tadmin')), 'forbidden');
    thenRefused(when(given(...team, invited('bob@example.com', 'viewer')), revoke, principal('member')), 'forbidden');
  });

  test('an accepted invitation cannot be revoked; an unknown one is not_found', () => {
    const done = given(...team, invited('bob@example.com', 'member'), added('bob', 'member'), {
      type: 'InvitationAccepted',
      data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa', userId: ids.bob },
    });
    thenRefused(when(done, revoke, principal('owner')), 'conflict');
    thenRefused(when(given(...team), revoke, principal('owner')), 'not_found');
  });
});
