import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Principal, TenantRole } from '@agentpod/contracts';
import { refusedWith, thrown } from '../testing/given.ts';
import { checkRole, isService, mayManagePool } from './policy.ts';

const person = (extra: Partial<Principal> = {}): Principal => ({
  userId: 'usr_someone0000000000000',
  email: 'someone@example.com',
  platformAdmin: false,
  via: 'session',
  ...extra,
});
const member = (role: TenantRole | undefined) => ({ tenantExists: true, memberRole: role });
const check = (principal: Principal, standing: ReturnType<typeof member>, required: TenantRole, tenant = 'acme') =>
  thrown(() => {
    checkRole(principal, tenant, standing, required, 'doing it');
    throw new Error('allowed');
  });

describe('pod and node access', () => {
  test('viewer reads, member changes, admin reads the token; below that forbidden', () => {
    assert.equal((check(person(), member('viewer'), 'viewer') as Error).message, 'allowed');
    refusedWith(check(person(), member('viewer'), 'member'), 'forbidden', /needs the member role/);
    assert.equal((check(person(), member('member'), 'member') as Error).message, 'allowed');
    refusedWith(check(person(), member('member'), 'admin'), 'forbidden');
    assert.equal((check(person(), member('admin'), 'admin') as Error).message, 'allowed');
  });

  test('no membership, or no such tenant, is not_found: existence does not leak', () => {
    refusedWith(check(person(), member(undefined), 'viewer'), 'not_found');
    refusedWith(check(person(), { tenantExists: false, memberRole: 'owner' }, 'viewer'), 'not_found');
  });

  test('tokens are capped at their role and confined to their tenant', () => {
    const viewerToken = person({ via: 'token', tokenRole: 'viewer' });
    refusedWith(check(viewerToken, member('owner'), 'member'), 'forbidden');
    const scoped = person({ via: 'token', tokenRole: 'admin', tokenTenantId: 'beta' });
    refusedWith(check(scoped, member('owner'), 'viewer'), 'not_found');
  });

  test('a platform admin is owner everywhere that exists', () => {
    assert.equal((check(person({ platformAdmin: true }), member(undefined), 'owner') as Error).message, 'allowed');
    refusedWith(
      check(person({ platformAdmin: true }), { tenantExists: false, memberRole: undefined }, 'viewer'),
      'not_found',
    );
  });

  test('system requests: a named service only for its own questions; the pool for admins and services', () => {
    const system = { actor: { kind: 'system' as const, id: 'reconciler' }, correlationId: 'c' };
    assert.equal(isService(system, 'reconciler'), true);
    assert.equal(isService(system, 'tenants'), false);
    assert.equal(isService({ ...system, principal: person({ platformAdmin: true }) }, 'reconciler'), false);
    assert.equal(isService({ actor: { kind: 'user', id: 'reconciler' }, correlationId: 'c' }, 'reconciler'), false);
    assert.equal(mayManagePool(system), true);
    assert.equal(mayManagePool({ actor: { kind: 'user', id: 'u' }, correlationId: 'c', principal: person() }), false);
    const admin = {
      actor: { kind: 'user' as const, id: 'u' },
      correlationId: 'c',
      principal: person({ platformAdmin: true }),
    };
    assert.equal(mayManagePool(admin), true);
  });
});
