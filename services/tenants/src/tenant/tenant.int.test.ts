import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AcceptInvitationResult,
  commandSubject,
  type InviteMemberResult,
  type MembershipView,
  type MemberView,
  querySubject,
  streamName,
  type TenantView,
} from '@agentpod/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { PUBLIC_URL, person, type Stack, startStack } from '../stack.testing.ts';

const cmd = (name: string) => commandSubject('tenants', name);
const qry = (name: string) => querySubject('tenants', name);

const admin = person('admin', { platformAdmin: true });
const bob = person('bob');
const mallory = person('mallory');

describe('tenants service: tenants, invitations and roles over NATS', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ smtp: true });
  });
  after(async () => {
    await stack?.stop();
  });

  const members = async (tenantId: string) =>
    (await stack.call<{ members: MemberView[] }>(qry('listMembers'), { tenantId }, admin)).members;

  test('a platform admin creates a tenant and owns it', async () => {
    const view = await stack.call<TenantView>(cmd('createTenant'), { id: 'acme', name: 'Acme' }, admin);
    assert.deepEqual(
      { ...view, createdAt: undefined },
      {
        id: 'acme',
        name: 'Acme',
        status: 'active',
        memberCount: 1,
        role: 'owner',
        createdAt: undefined,
      },
    );
    assert.equal(await stack.refused(cmd('createTenant'), { id: 'acme', name: 'Again' }, admin), 'conflict');
    assert.equal(await stack.refused(cmd('createTenant'), { id: 'other', name: 'Other' }, bob), 'forbidden');
  });

  test('invite → email with the link → accepted by the invited address only → member listed', async () => {
    const invitation = await stack.call<InviteMemberResult>(
      cmd('inviteMember'),
      { tenantId: 'acme', email: 'Bob@Example.com', role: 'admin' },
      admin,
    );
    assert.equal(invitation.email, 'bob@example.com');
    assert.equal(invitation.status, 'pending');
    assert.equal(invitation.localLink, undefined, 'with SMTP configured, the link only travels by email');
    assert.deepEqual(stack.ensured, ['bob@example.com']);

    const mail = await stack.sink?.next('bob@example.com');
    const link = mail?.text.match(/(https:\S+\/invitations\/accept#token=(apv_[A-Za-z0-9_-]+))/);
    assert.ok(link, `no invitation link in: ${mail?.text}`);
    assert.ok(link[1]?.startsWith(`${PUBLIC_URL}/invitations/accept#token=`));
    const token = link[2] ?? '';

    // The token is nowhere in the log: only its hash.
    const jsm = await jetstreamManager(stack.nc);
    const last = await stack.lastSeq('tenants');
    for (let seq = 1; seq <= last; seq++) {
      const message = await jsm.direct.getMessage(streamName('tenants'), { seq });
      assert.ok(!message?.string().includes(token.slice(4)), `event ${seq} holds the invitation token`);
    }

    assert.equal(await stack.refused(cmd('acceptInvitation'), { token }, mallory), 'forbidden');
    assert.equal((await members('acme')).length, 1, 'a refused acceptance stores nothing');
    assert.equal(await stack.refused(cmd('acceptInvitation'), { token: `${token.slice(0, -2)}xx` }, bob), 'not_found');

    const joined = await stack.call<AcceptInvitationResult>(cmd('acceptInvitation'), { token }, bob);
    assert.deepEqual(
      { tenantId: joined.tenantId, userId: joined.userId, role: joined.role },
      { tenantId: 'acme', userId: bob.userId, role: 'admin' },
    );
    assert.deepEqual(
      (await members('acme')).map((m) => [m.email, m.role]),
      [
        ['admin@example.com', 'owner'],
        ['bob@example.com', 'admin'],
      ],
    );
    const membership = await stack.call<MembershipView>(
      qry('membership'),
      { tenantId: 'acme', userId: bob.userId },
      bob,
    );
    assert.equal(membership.role, 'admin');
    const { invitations } = await stack.call<{ invitations: { status: string }[] }>(
      qry('listInvitations'),
      { tenantId: 'acme' },
      bob,
    );
    assert.deepEqual(
      invitations.map((i) => i.status),
      ['accepted'],
    );
    assert.equal(await stack.refused(cmd('acceptInvitation'), { token }, bob), 'conflict');
  });

  test('escalation attempts are refused, and strangers see nothing', async () => {
    const refused = (name: string, data: object, as = bob) =>
      stack.refused(cmd(name), { tenantId: 'acme', ...data }, as);
    assert.equal(await refused('inviteMember', { email: 'carol@example.com', role: 'owner' }), 'forbidden');
    assert.equal(await refused('changeMemberRole', { userId: bob.userId, role: 'owner' }), 'forbidden');
    assert.equal(await refused('changeMemberRole', { userId: admin.userId, role: 'viewer' }), 'forbidden');
    assert.equal(await refused('changeMemberRole', { userId: admin.userId, role: 'admin' }, admin), 'conflict');
    assert.equal(await refused('removeMember', { userId: admin.userId }, admin), 'conflict');
    const readOnly = {
      ...bob,
      via: 'token' as const,
      tokenId: 'tok_bbbbbbbbbbbbbbbbbbbbbbbb',
      tokenRole: 'viewer' as const,
    };
    assert.equal(await refused('renameTenant', { name: 'Mine' }, readOnly), 'forbidden');
    assert.equal(await refused('renameTenant', { name: 'Mine' }, mallory), 'not_found');
    assert.equal(await stack.refused(qry('getTenant'), { tenantId: 'acme' }, mallory), 'not_found');
    assert.equal(await stack.refused(qry('listMembers'), { tenantId: 'acme' }, mallory), 'not_found');
    assert.equal(
      await stack.refused(qry('membership'), { tenantId: 'acme', userId: admin.userId }, mallory),
      'not_found',
    );
    assert.deepEqual(await stack.call(qry('listTenants'), {}, mallory), { tenants: [] });
    const bobs = await stack.call<{ tenants: TenantView[] }>(qry('listTenants'), {}, bob);
    assert.deepEqual(
      bobs.tenants.map((t) => [t.id, t.role, t.memberCount]),
      [['acme', 'admin', 2]],
    );
    assert.deepEqual(await stack.call(qry('memberships'), { userId: bob.userId }, bob), {
      memberships: [{ tenantId: 'acme', role: 'admin' }],
    });
    assert.equal(await stack.refused(qry('memberships'), { userId: admin.userId }, bob), 'forbidden');
    assert.equal(await stack.refused(qry('listTenants'), {}), 'unauthenticated');
  });

  test('deleting a tenant asks pods: refused while it has pods, force deletes them first', async () => {
    await stack.call(cmd('createTenant'), { id: 'beta', name: 'Beta' }, admin);
    stack.podCounts.set('beta', 2);
    assert.equal(await stack.refused(cmd('deleteTenant'), { tenantId: 'beta' }, admin), 'conflict');
    assert.equal(await stack.refused(cmd('deleteTenant'), { tenantId: 'beta' }, bob), 'not_found');
    assert.equal(stack.podCountCallers.length, 1, 'pods is not asked for a caller without the right');
    assert.deepEqual(stack.podCountCallers[0], { kind: 'system', id: 'tenants' });
    assert.equal(await stack.call(cmd('deleteTenant'), { tenantId: 'beta', force: true }, admin), null);
    assert.equal(stack.podCounts.get('beta'), 0, 'the pods were deleted through pods.cmd.deleteTenantPods');
    assert.equal(await stack.refused(qry('getTenant'), { tenantId: 'beta' }, admin), 'not_found');
    const all = await stack.call<{ tenants: TenantView[] }>(qry('listTenants'), {}, admin);
    assert.deepEqual(
      all.tenants.map((t) => t.id),
      ['acme'],
    );
    assert.equal(await stack.refused(cmd('createTenant'), { id: 'beta', name: 'Beta again' }, admin), 'conflict');
  });

  test('injection-shaped and oversized input is invalid and stores nothing', async () => {
    const before = await stack.lastSeq('tenants');
    const bad: [string, object][] = [
      ['createTenant', { id: '\u0430cme', name: 'Homoglyph' }],
      ['createTenant', { id: '../x', name: 'Traversal' }],
      ['createTenant', { id: 'a;rm -rf /', name: 'Shell' }],
      ['createTenant', { id: '$(id)', name: 'Substitution' }],
      ['createTenant', { id: 'long', name: 'x'.repeat(10_000) }],
      ['createTenant', { id: 'ctrl', name: 'bell\u0007' }],
      ['createTenant', { id: 'extra', name: 'Extra', owner: 'me' }],
      ['renameTenant', { tenantId: 'acme', name: 'y'.repeat(10_000) }],
      ['inviteMember', { tenantId: 'acme', email: 'a;rm -rf /', role: 'member' }],
      ['inviteMember', { tenantId: 'acme', email: '$(id)@example.com', role: 'member' }],
      ['inviteMember', { tenantId: 'acme', email: 'carol@example.com', role: 'superuser' }],
      ['removeMember', { tenantId: 'acme', userId: '../usr_x' }],
    ];
    for (const [name, data] of bad) {
      assert.equal(
        await stack.refused(cmd(name), data, admin),
        'invalid',
        `${name} ${JSON.stringify(data).slice(0, 60)}`,
      );
    }
    assert.equal(await stack.lastSeq('tenants'), before);
    const all = await stack.call<{ tenants: TenantView[] }>(qry('listTenants'), {}, admin);
    assert.deepEqual(
      all.tenants.map((t) => [t.id, t.name]),
      [['acme', 'Acme']],
    );
  });

  test('rebuilding the read models from the log gives the same rows', async () => {
    const report = await stack.tenants.runtime.replay({ compare: true });
    assert.ok(report.events > 0);
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
  });
});
