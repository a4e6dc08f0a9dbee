import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AuditEntry,
  type AuditPage,
  commandSubject,
  type InviteMemberResult,
  querySubject,
} from '@agentpod/contracts';
import { EMPTY_POSITION } from '@agentpod/kit';
import { person, type Stack, startStack } from '../stack.testing.ts';

const cmd = (name: string) => commandSubject('tenants', name);
const audit = querySubject('tenants', 'audit');

const admin = person('admin', { platformAdmin: true });
const bob = person('bob');
const mallory = person('mallory');

describe('audit log: every domain stream, newest first, scoped by role', () => {
  let stack: Stack;

  /** Invites `who` and accepts as `who`, with the token taken from the email. */
  async function join(tenantId: string, who: typeof bob, role: string, by = admin) {
    await stack.call<InviteMemberResult>(cmd('inviteMember'), { tenantId, email: who.email, role }, by);
    const mail = await stack.sink?.next(who.email);
    const token = mail?.text.match(/#token=(apv_[A-Za-z0-9_-]+)/)?.[1];
    await stack.call(cmd('acceptInvitation'), { token }, who);
  }

  const page = (query: object, as = admin) => stack.call<AuditPage>(audit, query, as);

  before(async () => {
    stack = await startStack({ smtp: true });
    await stack.call(cmd('createTenant'), { id: 'acme', name: 'Acme' }, admin);
    await stack.call(cmd('createTenant'), { id: 'zeta', name: 'Zeta' }, admin);
    await join('acme', bob, 'admin');
    await join('acme', mallory, 'viewer', bob);
    await stack.call(cmd('renameTenant'), { tenantId: 'acme', name: 'Acme Inc' }, bob);
    // Another context's stream: an identity event, appended as the identity service would.
    const { runtime } = stack.tenants;
    const { position } = await runtime.store.append(
      'identity',
      'usr_someone0000000000000',
      [
        {
          type: 'UserRegistered',
          data: { userId: 'usr_someone0000000000000', email: 's@example.com', platformAdmin: false },
        },
      ],
      {
        expected: EMPTY_POSITION,
        meta: { actor: { kind: 'system', id: 'identity' }, correlationId: 'c-1' },
        now: new Date(),
      },
    );
    await runtime.caughtUp('identity', position.seq);
  });
  after(async () => {
    await stack?.stop();
  });

  const isNewestFirst = (entries: AuditEntry[]) =>
    entries.every((entry, i) => {
      const next = entries[i + 1];
      if (!next) return true;
      return (
        entry.occurredAt > next.occurredAt || (entry.occurredAt === next.occurredAt && entry.eventId > next.eventId)
      );
    });

  test('a platform admin reads every change of every stream, newest first', async () => {
    const { entries, next } = await page({});
    assert.equal(next, null);
    assert.ok(isNewestFirst(entries));
    assert.deepEqual(entries.map((e) => e.type).reverse(), [
      'TenantCreated',
      'MemberAdded',
      'TenantCreated',
      'MemberAdded',
      'InvitationCreated',
      'MemberAdded',
      'InvitationAccepted',
      'InvitationCreated',
      'MemberAdded',
      'InvitationAccepted',
      'TenantRenamed',
      'UserRegistered',
    ]);
    const identity = entries.find((e) => e.context === 'identity');
    assert.deepEqual(identity?.actor, { kind: 'system', id: 'identity' });
    const invitation = entries.find((e) => e.type === 'InvitationCreated');
    assert.deepEqual(Object.keys(invitation?.data as object).sort(), ['email', 'expiresAt', 'invitationId', 'role']);
    assert.ok(entries.every((e) => e.correlationId.length > 0));
  });

  test('filters by tenant, actor and type', async () => {
    const acme = await page({ tenant: 'acme' });
    assert.equal(acme.entries.length, 9);
    assert.ok(acme.entries.every((e) => e.tenantId === 'acme'));
    const byBob = await page({ actor: bob.userId });
    assert.deepEqual(
      byBob.entries.map((e) => e.type),
      ['TenantRenamed', 'InvitationCreated', 'InvitationAccepted', 'MemberAdded'],
    );
    const added = await page({ type: 'MemberAdded', tenant: 'acme' });
    assert.deepEqual(
      added.entries.map((e) => (e.data as { email: string }).email),
      ['mallory@example.com', 'bob@example.com', 'admin@example.com'],
    );
  });

  test('pages follow one another without gaps or repeats', async () => {
    const all = (await page({})).entries.map((e) => e.eventId);
    const seen: string[] = [];
    let before: string | null | undefined;
    do {
      const result: AuditPage = await page({ limit: 5, ...(before ? { before } : {}) });
      seen.push(...result.entries.map((e) => e.eventId));
      before = result.next;
    } while (before);
    assert.deepEqual(seen, all);
    assert.equal(await stack.refused(audit, { before: '0190a000-0000-7000-8000-000000000000' }, admin), 'invalid');
  });

  test('a tenant admin reads its tenants only; a viewer reads nothing; a stranger is told not_found', async () => {
    const bobs = await page({}, bob);
    assert.equal(bobs.entries.length, 9);
    assert.ok(bobs.entries.every((e) => e.tenantId === 'acme'));
    assert.equal(await stack.refused(audit, { tenant: 'zeta' }, bob), 'not_found');
    assert.equal(await stack.refused(audit, { tenant: 'acme' }, mallory), 'forbidden');
    assert.deepEqual(await page({}, mallory), { entries: [], next: null });
    const capped = {
      ...bob,
      via: 'token' as const,
      tokenId: 'tok_bbbbbbbbbbbbbbbbbbbbbbbb',
      tokenRole: 'viewer' as const,
    };
    assert.deepEqual(await page({}, capped), { entries: [], next: null });
    assert.equal(await stack.refused(audit, { type: 'a;rm -rf /' }, admin), 'invalid');
    assert.equal(await stack.refused(audit, { limit: 501 }, admin), 'invalid');
  });

  test('rebuilding the audit log by replay gives the same rows', async () => {
    const report = await stack.tenants.runtime.replay({ compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    const audited = report.comparison?.find((table) => table.table === 'audit_entries');
    assert.deepEqual(audited && [audited.live, audited.rebuilt], [12, 12]);
  });
});
