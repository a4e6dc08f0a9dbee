import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ownerCount } from './events.ts';
import {
  added,
  created,
  given,
  ids,
  invited,
  principal,
  T,
  team,
  thenEvents,
  thenRefused,
  viaToken,
  when,
} from './given.testing.ts';

describe('create a tenant', () => {
  const create = { type: 'CreateTenant', tenantId: T, name: 'Acme' } as const;

  test('a platform admin creates it and becomes its owner', () => {
    thenEvents(when(given(), create, principal('admin')), [
      { type: 'TenantCreated', data: { tenantId: T, name: 'Acme', ownerId: ids.admin } },
      { type: 'MemberAdded', data: { userId: ids.admin, email: 'admin@example.com', role: 'owner' } },
    ]);
  });

  test('an unscoped admin token of a platform admin may create one', () => {
    const decision = when(given(), create, viaToken('admin', 'admin'));
    thenEvents(decision, [
      { type: 'TenantCreated', data: { tenantId: T, name: 'Acme', ownerId: ids.admin } },
      { type: 'MemberAdded', data: { userId: ids.admin, email: 'admin@example.com', role: 'owner' } },
    ]);
  });

  test('anyone else is refused, including a platform admin through a member or viewer token', () => {
    thenRefused(when(given(), create, principal('owner')), 'forbidden');
    thenRefused(when(given(), create, viaToken('admin', 'member')), 'forbidden');
    thenRefused(when(given(), create, viaToken('admin', 'viewer')), 'forbidden');
    thenRefused(when(given(), create, viaToken('admin', 'admin', 'other')), 'forbidden');
  });

  test('an existing id is a conflict, and so is the id of a deleted tenant', () => {
    thenRefused(when(given(...team), create, principal('admin')), 'conflict', /already exists/);
    const deleted = given(...team, { type: 'TenantDeleted', data: { podsDeleted: 0 } });
    thenRefused(when(deleted, create, principal('admin')), 'conflict', /cannot be reused/);
  });
});

describe('rename a tenant', () => {
  const rename = { type: 'RenameTenant', tenantId: T, name: 'Acme Inc' } as const;

  test('an admin renames it', () => {
    thenEvents(when(given(...team), rename, principal('tadmin')), [
      { type: 'TenantRenamed', data: { name: 'Acme Inc' } },
    ]);
  });

  test('the same name again changes nothing', () => {
    thenEvents(when(given(...team), { ...rename, name: 'Acme' }, principal('owner')), []);
  });

  test('a member is forbidden; a stranger is told it does not exist', () => {
    thenRefused(when(given(...team), rename, principal('member')), 'forbidden', /admin role/);
    thenRefused(when(given(...team), rename, principal('stranger')), 'not_found');
    thenRefused(when(given(), rename, principal('owner')), 'not_found');
  });

  test("a viewer-capped token changes nothing, even the owner's", () => {
    thenRefused(when(given(...team), rename, viaToken('owner', 'viewer')), 'forbidden', /read-only/);
  });

  test('a token confined to another tenant has no access here', () => {
    thenRefused(when(given(...team), rename, viaToken('owner', 'admin', 'other')), 'not_found');
  });

  test('a token never has more rights than its holder (member holding an admin token)', () => {
    thenRefused(when(given(...team), rename, viaToken('member', 'admin')), 'forbidden');
  });
});

describe('delete a tenant', () => {
  const remove = { type: 'DeleteTenant', tenantId: T, force: false, podCount: 0, podsDeleted: 0 } as const;

  test('the owner deletes a tenant without pods', () => {
    thenEvents(when(given(...team), remove, principal('owner')), [{ type: 'TenantDeleted', data: { podsDeleted: 0 } }]);
  });

  test('a platform admin counts as owner everywhere', () => {
    thenEvents(when(given(...team), remove, principal('admin')), [{ type: 'TenantDeleted', data: { podsDeleted: 0 } }]);
  });

  test('an admin may not delete it; an owner token capped at admin may not either', () => {
    thenRefused(when(given(...team), remove, principal('tadmin')), 'forbidden', /owner role/);
    thenRefused(when(given(...team), remove, viaToken('owner', 'admin')), 'forbidden');
  });

  test('refused while it has pods', () => {
    thenRefused(when(given(...team), { ...remove, podCount: 2 }, principal('owner')), 'conflict', /2 pod/);
  });

  test('with force, the pods deleted first are counted in the event', () => {
    const decision = when(given(...team), { ...remove, force: true, podsDeleted: 3 }, principal('owner'));
    thenEvents(decision, [{ type: 'TenantDeleted', data: { podsDeleted: 3 } }]);
  });

  test('with force, pods left after the deletion still refuse it', () => {
    const decision = when(given(...team), { ...remove, podCount: 1, force: true, podsDeleted: 2 }, principal('owner'));
    thenRefused(decision, 'conflict', /after deleting its pods/);
  });

  test('a deleted tenant is gone: every later command answers not_found', () => {
    const deleted = given(...team, { type: 'TenantDeleted', data: { podsDeleted: 0 } });
    thenRefused(when(deleted, remove, principal('owner')), 'not_found');
    thenRefused(when(deleted, { type: 'RenameTenant', tenantId: T, name: 'X' }, principal('admin')), 'not_found');
  });
});

describe('evolve', () => {
  test('folds members, roles, removals and invitations', () => {
    const state = given(
      ...team,
      { type: 'TenantRenamed', data: { name: 'Acme Inc' } },
      { type: 'MemberRoleChanged', data: { userId: ids.member, role: 'admin' } },
      { type: 'MemberRemoved', data: { userId: ids.viewer } },
      invited('bob@example.com', 'member'),
      { type: 'InvitationAccepted', data: { invitationId: 'inv_aaaaaaaaaaaaaaaaaaaaaaaa', userId: ids.bob } },
    );
    assert.equal(state.status, 'active');
    assert.equal(state.name, 'Acme Inc');
    assert.deepEqual(Object.fromEntries(Object.entries(state.members).map(([id, m]) => [id, m.role])), {
      [ids.owner]: 'owner',
      [ids.tadmin]: 'admin',
      [ids.member]: 'admin',
    });
    assert.equal(state.invitations.inv_aaaaaaaaaaaaaaaaaaaaaaaa?.status, 'accepted');
    assert.equal(ownerCount(state), 1);
  });

  test('deleting the tenant ends every membership', () => {
    const state = given(...team, { type: 'TenantDeleted', data: { podsDeleted: 0 } });
    assert.equal(state.status, 'deleted');
    assert.deepEqual(state.members, {});
  });

  test('the creator joins by its own MemberAdded, with the time of the event', () => {
    const state = given(created, added('owner', 'owner'));
    assert.equal(state.members[ids.owner]?.role, 'owner');
    assert.equal(state.createdAt, '2026-03-01T11:58:00.000Z');
    assert.equal(state.members[ids.owner]?.joinedAt, '2026-03-01T11:59:00.000Z');
  });
});
