import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Matrix, setupMatrix } from './role-matrix/fixtures.ts';
import type { Call } from './role-matrix/world.ts';

/*
 * Attempts to gain rights one does not have, through the gateway against the real services: each is refused, and
 * the tenant's members afterwards show that nothing changed.
 */

describe('escalation attempts are refused end to end', () => {
  let m: Matrix;
  before(async () => {
    m = await setupMatrix();
  });
  after(() => m?.world.stop());

  const status = async (request: Call) => (await m.world.call(request)).statusCode;
  const members = async () =>
    (
      await m.world.must<{ members: { userId: string; role: string }[] }>(200, {
        method: 'GET',
        url: '/api/v1/tenants/acme/members',
        as: m.sessions.owner,
      })
    ).members;

  test('an admin cannot invite an owner, nor make itself owner; a member cannot invite at all', async () => {
    const before = await members();
    const invite = (as: Call['as'], role: string) =>
      status({ method: 'POST', url: '/api/v1/tenants/acme/members', as, body: { email: 'boss@example.test', role } });
    assert.equal(await invite(m.sessions.admin, 'owner'), 403);
    assert.equal(await invite(m.sessions.member, 'viewer'), 403);
    assert.equal(await invite(m.sessions.member, 'owner'), 403);
    assert.equal(
      await status({
        method: 'PATCH',
        url: `/api/v1/tenants/acme/members/${m.sessions.admin.userId}`,
        as: m.sessions.admin,
        body: { role: 'owner' },
      }),
      403,
    );
    assert.deepEqual(await members(), before);
  });

  test('a member cannot mint a token above its role; a viewer token cannot mint any', async () => {
    const mint = (as: Call['as'], role: string) =>
      status({ method: 'POST', url: '/api/v1/tokens', as, body: { name: 'up', tenant: 'acme', role } });
    assert.equal(await mint(m.sessions.member, 'admin'), 403);
    assert.equal(await mint(m.viewerToken, 'viewer'), 403);
    assert.equal(await mint(m.sessions.otherTenant, 'viewer'), 404);
  });

  test('a viewer token changes nothing, even what its owner may change', async () => {
    const before = await members();
    const as = m.viewerToken;
    assert.equal(await status({ method: 'PATCH', url: '/api/v1/tenants/acme', as, body: { name: 'Pwned' } }), 403);
    assert.equal(await status({ method: 'DELETE', url: '/api/v1/tenants/acme', as }), 403);
    assert.equal(await status({ method: 'POST', url: '/api/v1/auth/logout-all', as }), 403);
    assert.deepEqual(await members(), before);
  });

  test('an invitation cannot be accepted by another address', async () => {
    const { token } = await m.world.invite(m.root, 'acme', 'invited@example.test', 'admin');
    const response = await m.world.call({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      as: m.sessions.otherTenant,
      body: { token },
    });
    assert.ok([403, 404].includes(response.statusCode), response.body);
    const joined = (await members()).some((member) => member.userId === m.sessions.otherTenant.userId);
    assert.equal(joined, false);
  });

  test('a member removes nobody but itself; the last owner cannot leave', async () => {
    const removeAs = (as: Call['as'], userId: string) =>
      status({ method: 'DELETE', url: `/api/v1/tenants/acme/members/${userId}`, as });
    assert.equal(await removeAs(m.sessions.member, m.sessions.viewer.userId), 403);
    assert.equal(await removeAs(m.sessions.admin, m.sessions.owner.userId), 403);
    assert.equal(await removeAs(m.sessions.owner, m.sessions.owner.userId), 409);
    assert.equal(await removeAs(m.sessions.viewer, m.sessions.viewer.userId), 204);
    assert.equal(
      (await members()).some((member) => member.userId === m.sessions.viewer.userId),
      false,
    );
  });
});
