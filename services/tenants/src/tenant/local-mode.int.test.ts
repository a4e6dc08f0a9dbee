import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AcceptInvitationResult,
  commandSubject,
  type InviteMemberResult,
  type TenantView,
} from '@agentpod/contracts';
import { PUBLIC_URL, person, type Stack, startStack } from '../stack.testing.ts';

const admin = person('admin', { platformAdmin: true });
const dana = person('dana');

describe('invitations in local mode (no SMTP server configured)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ smtp: false });
  });
  after(async () => {
    await stack?.stop();
  });

  test('the invitation reply carries the link for the gateway to print, and the link works', async () => {
    await stack.call<TenantView>(commandSubject('tenants', 'createTenant'), { id: 'local', name: 'Local' }, admin);
    const invitation = await stack.call<InviteMemberResult>(
      commandSubject('tenants', 'inviteMember'),
      { tenantId: 'local', email: dana.email, role: 'member' },
      admin,
    );
    const prefix = `${PUBLIC_URL}/invitations/accept#token=`;
    assert.ok(invitation.localLink?.startsWith(prefix), invitation.localLink);
    const token = invitation.localLink?.slice(prefix.length);
    const joined = await stack.call<AcceptInvitationResult>(
      commandSubject('tenants', 'acceptInvitation'),
      { token },
      dana,
    );
    assert.deepEqual([joined.tenantId, joined.email, joined.role], ['local', dana.email, 'member']);
  });
});
