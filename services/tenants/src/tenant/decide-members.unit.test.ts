import { describe, test } from 'node:test';
import { added, given, ids, principal, T, team, thenEvents, thenRefused, viaToken, when } from './given.testing.ts';

describe('change a member role', () => {
  const change = (who: keyof typeof ids, role: 'viewer' | 'member' | 'admin' | 'owner') =>
    ({ type: 'ChangeMemberRole', tenantId: T, userId: ids[who], role }) as const;

  test('the owner promotes a member to admin, and another member to owner', () => {
    thenEvents(when(given(...team), change('member', 'admin'), principal('owner')), [
      { type: 'MemberRoleChanged', data: { userId: ids.member, role: 'admin' } },
    ]);
    thenEvents(when(given(...team), change('member', 'owner'), principal('owner')), [
      { type: 'MemberRoleChanged', data: { userId: ids.member, role: 'owner' } },
    ]);
  });

  test('an admin may not promote anyone to owner (nobody grants above their own role)', () => {
    thenRefused(
      when(given(...team), change('member', 'owner'), principal('tadmin')),
      'forbidden',
      /cannot grant owner/,
    );
    thenRefused(when(given(...team), change('tadmin', 'owner'), principal('tadmin')), 'forbidden');
  });

  test('an admin may not demote an owner (nobody acts on a role above their own)', () => {
    thenRefused(when(given(...team), change('owner', 'viewer'), principal('tadmin')), 'forbidden');
  });

  test('an admin moves a member between viewer, member and admin', () => {
    thenEvents(when(given(...team), change('viewer', 'admin'), principal('tadmin')), [
      { type: 'MemberRoleChanged', data: { userId: ids.viewer, role: 'admin' } },
    ]);
  });

  test('a member may change no role', () => {
    thenRefused(when(given(...team), change('viewer', 'member'), principal('member')), 'forbidden', /admin role/);
  });

  test('the last owner cannot be demoted, not even by itself or a platform admin', () => {
    thenRefused(when(given(...team), change('owner', 'admin'), principal('owner')), 'conflict', /last owner/);
    thenRefused(when(given(...team), change('owner', 'admin'), principal('admin')), 'conflict', /last owner/);
  });

  test('with two owners, one may be demoted', () => {
    thenEvents(when(given(...team, added('owner2', 'owner')), change('owner', 'member'), principal('owner2')), [
      { type: 'MemberRoleChanged', data: { userId: ids.owner, role: 'member' } },
    ]);
  });

  test('a viewer token changes nothing; a stranger gets not_found; a non-member target is not_found', () => {
    thenRefused(when(given(...team), change('member', 'viewer'), viaToken('owner', 'viewer')), 'forbidden');
    thenRefused(when(given(...team), change('member', 'viewer'), principal('stranger')), 'not_found');
    thenRefused(when(given(...team), change('bob', 'viewer'), principal('owner')), 'not_found', /not a member/);
  });

  test('an admin token of the owner grants at most admin', () => {
    thenRefused(when(given(...team), change('member', 'owner'), viaToken('owner', 'admin')), 'forbidden');
  });

  test('the same role again changes nothing', () => {
    thenEvents(when(given(...team), change('member', 'member'), principal('owner')), []);
  });
});

describe('remove a member or leave', () => {
  const remove = (who: keyof typeof ids) => ({ type: 'RemoveMember', tenantId: T, userId: ids[who] }) as const;

  test('anyone may leave, a viewer included', () => {
    thenEvents(when(given(...team), remove('viewer'), principal('viewer')), [
      { type: 'MemberRemoved', data: { userId: ids.viewer } },
    ]);
    thenEvents(when(given(...team), remove('member'), principal('member')), [
      { type: 'MemberRemoved', data: { userId: ids.member } },
    ]);
  });

  test('the last owner cannot leave nor be removed', () => {
    thenRefused(when(given(...team), remove('owner'), principal('owner')), 'conflict', /last owner/);
    thenRefused(when(given(...team), remove('owner'), principal('admin')), 'conflict', /last owner/);
  });

  test('one of two owners may leave', () => {
    thenEvents(when(given(...team, added('owner2', 'owner')), remove('owner'), principal('owner')), [
      { type: 'MemberRemoved', data: { userId: ids.owner } },
    ]);
  });

  test('an admin removes a member, but not an owner', () => {
    thenEvents(when(given(...team), remove('member'), principal('tadmin')), [
      { type: 'MemberRemoved', data: { userId: ids.member } },
    ]);
    thenRefused(when(given(...team, added('owner2', 'owner')), remove('owner2'), principal('tadmin')), 'forbidden');
  });

  test('a member may not remove someone else', () => {
    thenRefused(when(given(...team), remove('viewer'), principal('member')), 'forbidden', /admin role/);
  });

  test('a viewer token cannot even leave', () => {
    thenRefused(when(given(...team), remove('member'), viaToken('member', 'viewer')), 'forbidden', /read-only/);
  });

  test('a stranger gets not_found, and removing a non-member is not_found', () => {
    thenRefused(when(given(...team), remove('member'), principal('stranger')), 'not_found');
    thenRefused(when(given(...team), remove('bob'), principal('owner')), 'not_found', /not a member/);
  });
});
