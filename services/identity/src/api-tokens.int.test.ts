import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AppError, type Principal, type RequestMeta, systemActor } from '@agentpod/contracts';
import { parseApiToken } from './credentials.ts';
import { type Harness, startIdentity } from './testing/harness.ts';

const refused = (code: string) => (error: AppError) => {
  assert.equal(error.code, code, error.message);
  return true;
};
const tenantsMeta: RequestMeta = { actor: systemActor('tenants'), correlationId: 'tenants-test' };

describe('identity: API tokens, rights, disabled users (local mode)', () => {
  let h: Harness;
  let admin: Principal;
  let owner: Principal;
  let member: Principal;
  let tenantVersion = { version: 0, seq: 0 };

  /** What the tenants service would store: events on the tenant's subject in the TENANTS stream. */
  const tenantEvent = async (type: string, data: unknown) => {
    const { position } = await h.service.runtime.store.append('tenants', 'acme', [{ type, data, tenantId: 'acme' }], {
      expected: tenantVersion,
      meta: tenantsMeta,
      now: new Date(),
    });
    tenantVersion = position;
  };
  const createToken = async (principal: Principal, data: Record<string, unknown>) => {
    const created = await h.call('createApiToken', { name: 'test', ...data }, principal);
    h.secrets.add(created.token);
    return { ...created, principal: await h.call('authenticate', { credential: created.token }) };
  };

  before(async () => {
    h = await startIdentity({ smtp: false });
    const boot = await h.call('bootstrapAdmin', { email: 'root@example.com' });
    h.secrets.add(boot.token);
    admin = await h.call('authenticate', { credential: boot.token });
    const ownerUser = await h.call('ensureUser', { email: 'owner@example.com' }, admin);
    const memberUser = await h.call('ensureUser', { email: 'member@example.com' });
    owner = (await h.signIn('owner@example.com')).principal;
    member = (await h.signIn('member@example.com')).principal;
    await tenantEvent('TenantCreated', { tenantId: 'acme', name: 'Acme', ownerId: ownerUser.id });
    await tenantEvent('MemberAdded', { userId: ownerUser.id, email: 'owner@example.com', role: 'owner' });
    await tenantEvent('MemberAdded', { userId: memberUser.id, email: 'member@example.com', role: 'member' });
  });
  after(async () => {
    await h?.stop();
  });

  test('local mode: the link comes back in the reply (for the gateway to print), never in a log', async () => {
    const reply = await h.call('requestMagicLink', { email: 'member@example.com' });
    assert.match(reply.localLink ?? '', /^https:\/\/agentpod\.example\.test\/auth\/callback#token=apl_/);
    h.secrets.add(reply.localLink?.split('#token=')[1] ?? '');
    assert.deepEqual(await h.call('requestMagicLink', { email: 'stranger@example.com' }), {});
  });

  test('a token is shown once, stored hashed, listed without its secret, and authenticates capped', async () => {
    const created = await createToken(member, { name: 'ci', tenantId: 'acme', role: 'member', expiresIn: '30d' });
    assert.ok(created.token.startsWith('apt_'));
    assert.equal(created.view.role, 'member');
    assert.equal(created.view.tenantId, 'acme');
    assert.ok(created.view.expiresAt);
    assert.deepEqual(created.principal, {
      userId: member.userId,
      email: 'member@example.com',
      platformAdmin: false,
      via: 'token',
      tokenId: created.view.id,
      tokenRole: 'member',
      tokenTenantId: 'acme',
    });
    const { tokens } = await h.call('listApiTokens', {}, member);
    assert.deepEqual(tokens, [created.view]);
    assert.ok(!JSON.stringify(tokens).includes(created.token.slice(4)));
    const stored = (await h.service.runtime.store.read('identity', created.view.id))[0]?.envelope.data;
    assert.equal((stored as { secretHash: string }).secretHash, parseApiToken(created.token)?.secretHash);
  });

  test('a token never has more rights than its creator', async () => {
    await assert.rejects(createToken(member, { tenantId: 'acme', role: 'admin' }), refused('forbidden'));
    await assert.rejects(createToken(member, { tenantId: 'other', role: 'viewer' }), refused('not_found'));
    const ownerAdmin = await createToken(owner, { tenantId: 'acme', role: 'admin' });
    assert.equal(ownerAdmin.principal.tokenRole, 'admin');
    const scoped = await createToken(member, { tenantId: 'acme', role: 'member', expiresIn: '1d' });
    await assert.rejects(createToken(scoped.principal, { role: 'member' }), refused('forbidden'));
    const child = await createToken(scoped.principal, { tenantId: 'acme', role: 'viewer', expiresIn: '30d' });
    assert.equal(child.view.expiresAt, scoped.view.expiresAt, 'a token made with a token never outlives it');
  });

  test('a demotion or removal is seen at once by the next token request', async () => {
    await tenantEvent('MemberRoleChanged', { userId: member.userId, role: 'viewer' });
    await assert.rejects(createToken(member, { tenantId: 'acme', role: 'member' }), refused('forbidden'));
    await createToken(member, { tenantId: 'acme', role: 'viewer' });
    await tenantEvent('MemberRemoved', { userId: member.userId });
    await assert.rejects(createToken(member, { tenantId: 'acme', role: 'viewer' }), refused('not_found'));
    await tenantEvent('MemberAdded', { userId: member.userId, email: 'member@example.com', role: 'member' });
  });

  test('a viewer token can change nothing: no token creation, no revocation, no sign out everywhere', async () => {
    const viewer = await createToken(member, { tenantId: 'acme', role: 'viewer' });
    const target = await createToken(member, { tenantId: 'acme', role: 'member' });
    await assert.rejects(createToken(viewer.principal, { tenantId: 'acme', role: 'viewer' }), refused('forbidden'));
    await assert.rejects(h.call('revokeApiToken', { tokenId: target.view.id }, viewer.principal), refused('forbidden'));
    await assert.rejects(
      h.call('signOutEverywhere', { userId: member.userId }, viewer.principal),
      refused('forbidden'),
    );
    assert.ok((await h.call('listApiTokens', {}, viewer.principal)).tokens.length > 0, 'a viewer token may read');
  });

  test("revoking: your own at once; someone else's is not_found; a platform admin may revoke any", async () => {
    const mine = await createToken(member, { role: 'member' });
    const theirs = await createToken(owner, { role: 'member' });
    await assert.rejects(h.call('revokeApiToken', { tokenId: theirs.view.id }, member), refused('not_found'));
    const revoked = await h.call('revokeApiToken', { tokenId: mine.view.id }, member);
    assert.equal(revoked.revoked, true);
    await assert.rejects(h.call('authenticate', { credential: mine.token }), refused('unauthenticated'));
    await h.call('revokeApiToken', { tokenId: theirs.view.id }, admin);
    await assert.rejects(h.call('authenticate', { credential: theirs.token }), refused('unauthenticated'));
    const listed = (await h.call('listApiTokens', {}, member)).tokens.find((t) => t.id === mine.view.id);
    assert.equal(listed?.revoked, true);
  });

  test("listing: your own; a platform admin sees everyone's; others' are forbidden", async () => {
    const all = await h.call('listApiTokens', {}, admin);
    assert.ok(all.tokens.some((t) => t.userId === owner.userId) && all.tokens.some((t) => t.userId === member.userId));
    const owners = await h.call('listApiTokens', { userId: owner.userId }, admin);
    assert.ok(owners.tokens.every((t) => t.userId === owner.userId));
    await assert.rejects(h.call('listApiTokens', { userId: owner.userId }, member), refused('forbidden'));
    await assert.rejects(h.call('listUsers', {}, member), refused('forbidden'));
    await assert.rejects(h.call('getUser', { userId: owner.userId }, member), refused('not_found'));
    assert.equal((await h.call('getUser', { userId: member.userId }, member)).email, 'member@example.com');
  });

  test('a disabled user loses every session and token at once, for good', async () => {
    const session = await h.signIn('owner@example.com');
    const token = await createToken(owner, { tenantId: 'acme', role: 'admin' });
    await h.call('setUserDisabled', { userId: owner.userId, disabled: true }, admin);
    for (const credential of [session.sessionToken, token.token]) {
      await assert.rejects(h.call('authenticate', { credential }), /disabled/);
    }
    await h.call('setUserDisabled', { userId: owner.userId, disabled: false }, admin);
    for (const credential of [session.sessionToken, token.token]) {
      await assert.rejects(h.call('authenticate', { credential }), refused('unauthenticated'));
    }
    const listed = (await h.call('listApiTokens', { userId: owner.userId }, admin)).tokens;
    assert.ok(listed.every((t) => t.revoked));
  });

  test('no secret in logs, events or tables; replay gives identical rows', async () => {
    const texts = [...(await h.storedText()), ...h.logs];
    for (const text of texts) {
      for (const secret of h.secrets) assert.ok(!text.includes(secret.slice(4)), 'a secret leaked');
    }
    const report = await h.service.runtime.replay({ compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    assert.ok(report.comparison?.some((t) => t.table === 'tenant_members' && t.live > 0));
  });
});
