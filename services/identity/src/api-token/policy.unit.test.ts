import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AppError, Principal } from '@agentpod/contracts';
import { assertMayChange, tokenGrantError } from './policy.ts';

const base = { userId: 'usr_000000000000000000000001', email: 'a@example.com', platformAdmin: false };
const session: Principal = { ...base, via: 'session', sessionId: 'ses_1' };
const token = (tokenRole: 'viewer' | 'member' | 'admin', tokenTenantId?: string): Principal => ({
  ...base,
  via: 'token',
  tokenId: 'tok_000000000000000000000001',
  tokenRole,
  ...(tokenTenantId ? { tokenTenantId } : {}),
});
const code = (error: AppError | undefined) => error?.code ?? 'allowed';

describe('API token grant policy', () => {
  test('a member cannot create an admin token for their tenant, but can create a member or viewer one', () => {
    assert.equal(code(tokenGrantError(session, { role: 'admin', tenantId: 'acme' }, 'member', true)), 'forbidden');
    assert.equal(code(tokenGrantError(session, { role: 'member', tenantId: 'acme' }, 'member', true)), 'allowed');
    assert.equal(code(tokenGrantError(session, { role: 'viewer', tenantId: 'acme' }, 'member', true)), 'allowed');
  });

  test('an owner or a platform admin may create an admin token for the tenant', () => {
    assert.equal(code(tokenGrantError(session, { role: 'admin', tenantId: 'acme' }, 'owner', true)), 'allowed');
    const admin: Principal = { ...session, platformAdmin: true };
    assert.equal(code(tokenGrantError(admin, { role: 'admin', tenantId: 'acme' }, undefined, true)), 'allowed');
  });

  test('no membership, or no such tenant, is not_found (existence does not leak)', () => {
    assert.equal(code(tokenGrantError(session, { role: 'viewer', tenantId: 'other' }, undefined, true)), 'not_found');
    const admin: Principal = { ...session, platformAdmin: true };
    assert.equal(code(tokenGrantError(admin, { role: 'viewer', tenantId: 'ghost' }, undefined, false)), 'not_found');
  });

  test('an unscoped token needs no membership: it is capped per tenant at use time', () => {
    assert.equal(code(tokenGrantError(session, { role: 'admin', tenantId: undefined }, undefined, false)), 'allowed');
  });

  test('a token-made token stays within its creator token: role, tenant', () => {
    assert.equal(
      code(tokenGrantError(token('member'), { role: 'admin', tenantId: undefined }, undefined, false)),
      'forbidden',
    );
    assert.equal(
      code(tokenGrantError(token('member'), { role: 'member', tenantId: undefined }, undefined, false)),
      'allowed',
    );
    assert.equal(
      code(tokenGrantError(token('admin', 'acme'), { role: 'member', tenantId: undefined }, undefined, false)),
      'forbidden',
    );
    assert.equal(
      code(tokenGrantError(token('admin', 'acme'), { role: 'member', tenantId: 'beta' }, 'owner', true)),
      'forbidden',
    );
    assert.equal(
      code(tokenGrantError(token('admin', 'acme'), { role: 'admin', tenantId: 'acme' }, 'owner', true)),
      'allowed',
    );
    assert.equal(
      code(tokenGrantError(token('member', 'acme'), { role: 'admin', tenantId: 'acme' }, 'owner', true)),
      'forbidden',
    );
  });

  test('a viewer token can create nothing and change nothing', () => {
    assert.equal(
      code(tokenGrantError(token('viewer'), { role: 'viewer', tenantId: undefined }, undefined, false)),
      'forbidden',
    );
    assert.throws(
      () => assertMayChange(token('viewer')),
      (error: AppError) => error.code === 'forbidden',
    );
    assert.doesNotThrow(() => assertMayChange(token('member')));
    assert.doesNotThrow(() => assertMayChange(session));
  });
});
