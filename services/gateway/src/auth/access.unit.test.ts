import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccessRule, Principal, TenantRole } from '@agentpod/contracts';
import { decideAccess, needsMembership } from './access.ts';

const user = (extra: Partial<Principal> = {}): Principal => ({
  userId: 'usr_a',
  email: 'a@example.com',
  platformAdmin: false,
  via: 'session',
  ...extra,
});
const token = (tokenRole: Principal['tokenRole'], extra: Partial<Principal> = {}) =>
  user({ via: 'token', tokenId: 'tok_a', tokenRole, ...extra });

const outcome = (rule: AccessRule, principal: Principal | undefined, membershipRole?: TenantRole, method = 'GET') => {
  const decision = decideAccess({ rule, method, principal, tenantId: 'acme', membershipRole });
  return decision.ok ? 'ok' : decision.error.code;
};

describe('decideAccess', () => {
  test('public routes need nothing; every other rule needs a principal', () => {
    assert.equal(outcome('public', undefined), 'ok');
    for (const rule of ['signedIn', 'platformAdmin', { tenant: 'viewer' }] as AccessRule[]) {
      assert.equal(outcome(rule, undefined), 'unauthenticated');
    }
  });

  test('a viewer-capped token may read but never change, whatever the rule', () => {
    assert.equal(outcome('signedIn', token('viewer')), 'ok');
    assert.equal(outcome('signedIn', token('viewer'), undefined, 'POST'), 'forbidden');
    assert.equal(outcome({ tenant: 'viewer' }, token('viewer'), 'owner', 'DELETE'), 'forbidden');
    assert.equal(outcome('signedIn', token('member'), undefined, 'POST'), 'ok');
  });

  test('platform admin: a session or an unscoped admin token, nobody else', () => {
    assert.equal(outcome('platformAdmin', user({ platformAdmin: true })), 'ok');
    assert.equal(outcome('platformAdmin', token('admin', { platformAdmin: true })), 'ok');
    assert.equal(outcome('platformAdmin', token('member', { platformAdmin: true })), 'forbidden');
    assert.equal(outcome('platformAdmin', token('admin', { platformAdmin: true, tokenTenantId: 'acme' })), 'forbidden');
    assert.equal(outcome('platformAdmin', user(), 'owner'), 'forbidden');
  });

  test('tenant rules: no access is not_found, too low a role is forbidden', () => {
    assert.equal(outcome({ tenant: 'viewer' }, user(), undefined), 'not_found');
    assert.equal(outcome({ tenant: 'admin' }, user(), 'member'), 'forbidden');
    assert.equal(outcome({ tenant: 'admin' }, user(), 'admin'), 'ok');
    assert.equal(outcome({ tenant: 'owner' }, user({ platformAdmin: true }), undefined), 'ok');
    assert.equal(outcome({ tenant: 'admin' }, token('member'), 'owner', 'PATCH'), 'forbidden');
    assert.equal(outcome({ tenant: 'viewer' }, token('admin', { tokenTenantId: 'other' }), 'owner'), 'not_found');
  });

  test('membership is only looked up when it can change the answer', () => {
    assert.equal(needsMembership(user(), 'acme'), true);
    assert.equal(needsMembership(user({ platformAdmin: true }), 'acme'), false);
    assert.equal(needsMembership(token('admin', { tokenTenantId: 'other' }), 'acme'), false);
    assert.equal(needsMembership(token('admin', { tokenTenantId: 'acme' }), 'acme'), true);
  });
});
