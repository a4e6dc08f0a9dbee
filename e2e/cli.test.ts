import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { aiService } from '@agentpod/ai';
import type { AuditEntry, InvitationView, MemberView, TenantView } from '@agentpod/contracts';
import { identityService } from '@agentpod/identity';
import { monitorService } from '@agentpod/monitor';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import { type Person, person } from './support/cli.ts';
import {
  type ErrorJson,
  EXIT,
  exited,
  failed,
  fragmentToken,
  mailedLink,
  ndjson,
  oneLineError,
} from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, type Stack, startStack, tempDir } from './support/stack.ts';

/*
 * The whole stack through the `agentpod` CLI, as an operator and a colleague use it: the real services, NATS,
 * PostgreSQL, an SMTP peer, and the gateway on a real port; the CLI as a child process with its own home. One
 * story, in order: each step builds on the one before.
 */

const ADMIN = 'admin@example.test';
const BOB = 'bob@example.test';

type Bootstrapped = {
  user: { id: string; email: string; platformAdmin: boolean };
  signInLink: string;
  token: string;
  tokenId: string;
};
type Whoami = {
  principal: { userId: string; email: string; platformAdmin: boolean; via: string };
  memberships: { tenantId: string; role: string }[];
};
type Report = { service: string; events: number; identical?: boolean; swapped: boolean };

describe('the agentpod CLI against the whole stack', () => {
  const cleanup = new Cleanup();
  let stack: Stack;
  let url: string;
  let admin: Person;
  let bob: Person;
  /** State the story carries from step to step. */
  const story = {
    adminToken: '',
    adminTokenId: '',
    adminId: '',
    bobTokenId: '',
    bobId: '',
    viewerToken: '',
    auditBefore: [] as AuditEntry[],
  };
  const asAdmin = { AGENTPOD_URL: '', AGENTPOD_TOKEN: '' };

  before(async () => {
    stack = await startStack({
      services: [identityService, tenantsService, podsService, reconcilerService, monitorService, aiService],
      smtp: true,
      listen: true,
    });
    cleanup.add(() => stack.stop());
    url = stack.url ?? '';
    const homes = await tempDir(cleanup, 'cli-homes');
    // Only the admin runs on the control-plane host, where the gateway's state directory is readable.
    admin = await person(join(homes, 'admin'), { AGENTPOD_STATE_DIR: stack.stateDir });
    bob = await person(join(homes, 'bob'));
  });
  after(() => cleanup.run());

  test('1. admin bootstrap creates the platform admin once, printing a sign-in link and a token', async () => {
    const first = await admin.run(['admin', 'bootstrap', '--email', ADMIN, '--json'], { env: { AGENTPOD_URL: url } });
    exited(first, EXIT.ok);
    const result = first.json<Bootstrapped>();
    assert.equal(result.user.email, ADMIN);
    assert.equal(result.user.platformAdmin, true);
    assert.ok(result.signInLink.startsWith(`${url}/auth/callback#token=apl_`), result.signInLink);
    assert.match(result.token, /^apt_[A-Za-z0-9_-]{22,}$/);
    story.adminToken = result.token;
    story.adminTokenId = result.tokenId;
    story.adminId = result.user.id;
    Object.assign(asAdmin, { AGENTPOD_URL: url, AGENTPOD_TOKEN: result.token });

    const bootstrapAgain = (...extra: string[]) =>
      admin.run(['admin', 'bootstrap', '--email', 'other@example.test', ...extra], { env: { AGENTPOD_URL: url } });
    const [again, human] = await Promise.all([bootstrapAgain('--json'), bootstrapAgain()]);
    failed(again, EXIT.failure, 'conflict');
    oneLineError(human, EXIT.failure, /admin/i);
  });

  test('2. login --token saves the credential with mode 0600; whoami shows a platform admin', async () => {
    const login = await admin.run(['login', '--token', story.adminToken, '--url', url, '--json']);
    exited(login, EXIT.ok);
    assert.equal(login.json<Whoami>().principal.email, ADMIN);
    assert.equal((await stat(admin.credentialsFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(admin.credentialsFile, '..'))).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(await readFile(admin.credentialsFile, 'utf8')), { url, token: story.adminToken });

    // From here on the saved credential alone says where and who: no AGENTPOD_URL, no AGENTPOD_TOKEN.
    const [whoami, human] = await Promise.all([admin.run(['whoami', '--json']), admin.run(['whoami'])]);
    exited(whoami, EXIT.ok);
    const me = whoami.json<Whoami>();
    assert.equal(me.principal.platformAdmin, true);
    assert.equal(me.principal.userId, story.adminId);
    assert.equal(me.principal.via, 'token');
    exited(human, EXIT.ok);
    assert.match(human.stdout, /^platform admin +yes$/m);
    assert.match(human.stdout, new RegExp(`^email +${ADMIN}$`, 'm'));
  });

  test('3. tenant create, list, rename and status', async () => {
    const created = await admin.run(['tenant', 'create', 'acme', '--name', 'Acme Inc', '--json']);
    exited(created, EXIT.ok);
    const acme = created.json<TenantView>();
    // Owner by membership, and the bootstrap token is capped at owner, so the CLI may do what its user may.
    assert.deepEqual(
      [acme.id, acme.name, acme.status, acme.role, acme.memberCount],
      ['acme', 'Acme Inc', 'active', 'owner', 1],
    );
    // A tenant bob will never belong to.
    exited(await admin.run(['tenant', 'create', 'globex', '--name', 'Globex']), EXIT.ok);

    const [list, table] = await Promise.all([admin.run(['tenant', 'list', '--json']), admin.run(['tenant', 'list'])]);
    exited(list, EXIT.ok);
    const { tenants } = list.json<{ tenants: TenantView[] }>();
    assert.deepEqual(tenants.map((t) => [t.id, t.name]).sort(), [
      ['acme', 'Acme Inc'],
      ['globex', 'Globex'],
    ]);
    exited(table, EXIT.ok);
    assert.match(table.stdout, /^ID +NAME +STATUS +MEMBERS +ROLE +CREATED$/m);
    assert.match(table.stdout, /^acme +Acme Inc +active +1 +owner +\d{4}-/m);

    const renamed = await admin.run(['tenant', 'rename', 'acme', '--name', 'Acme Corporation', '--json']);
    exited(renamed, EXIT.ok);
    assert.equal(renamed.json<TenantView>().name, 'Acme Corporation');
    const status = await admin.run(['tenant', 'status', 'acme', '--json']);
    exited(status, EXIT.ok);
    const shown = status.json<TenantView>();
    assert.deepEqual(
      [shown.id, shown.name, shown.status, shown.memberCount],
      ['acme', 'Acme Corporation', 'active', 1],
    );
  });

  test('4. an invitation arrives by email; bob signs in by magic link through the CLI and joins', async () => {
    const smtp = stack.smtp;
    assert.ok(smtp);
    const invited = await admin.run(['tenant', 'member', 'add', 'acme', BOB, '--role', 'member', '--json']);
    exited(invited, EXIT.ok);
    const invitation = invited.json<InvitationView>();
    assert.deepEqual([invitation.email, invitation.role, invitation.status], [BOB, 'member', 'pending']);
    const invitationLink = await mailedLink(smtp, BOB, `${url}/invitations/accept#token=apv_`);

    // The CLI asks for the link only after it has requested it, so the answer is typed once the mail is in.
    let signInLink = '';
    const login = await bob.run(['login', '--email', BOB, '--url', url, '--json'], {
      answer: {
        when: /Paste the link here/,
        with: async () => {
          signInLink = await mailedLink(smtp, BOB, `${url}/auth/callback#token=apl_`);
          return signInLink;
        },
      },
    });
    exited(login, EXIT.ok);
    assert.ok(signInLink !== '');
    const signedIn = login.json<Whoami & { tokenId: string | null }>();
    assert.equal(signedIn.principal.email, BOB);
    assert.equal(signedIn.principal.platformAdmin, false);
    assert.match(signedIn.tokenId ?? '', /^tok_[a-z0-9]+$/);
    assert.equal((await stat(bob.credentialsFile)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(bob.credentialsFile, 'utf8')) as { token: string; tokenId: string };
    assert.equal(saved.tokenId, signedIn.tokenId);
    story.bobId = signedIn.principal.userId;
    story.bobTokenId = saved.tokenId;
    // The link worked once; the CLI's session was signed out again, and the link cannot be reused.
    const reused = await http(url, 'POST', '/api/v1/auth/redeem', { body: { token: fragmentToken(signInLink) } });
    assert.equal(reused.status, 401, JSON.stringify(reused.body));

    // The CLI has no command to accept an invitation (that is the console's page the link opens): HTTP.
    const accepted = await http(url, 'POST', '/api/v1/invitations/accept', {
      token: saved.token,
      body: { token: fragmentToken(invitationLink) },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));

    const [members, me] = await Promise.all([
      admin.run(['tenant', 'member', 'list', 'acme', '--json']),
      bob.run(['whoami', '--json']),
    ]);
    exited(members, EXIT.ok);
    const roles = members.json<{ members: MemberView[] }>().members.map((m) => [m.userId, m.email, m.role]);
    assert.deepEqual(
      roles.sort(),
      [
        [story.adminId, ADMIN, 'owner'],
        [story.bobId, BOB, 'member'],
      ].sort(),
    );
    exited(me, EXIT.ok);
    assert.deepEqual(me.json<Whoami>().memberships, [{ tenantId: 'acme', role: 'member' }]);
  });

  test('5. bob mints a viewer token, which changes nothing; he cannot mint an admin token', async () => {
    const created = await bob.run([
      'token',
      'create',
      '--name',
      'ci',
      '--tenant',
      'acme',
      '--role',
      'viewer',
      '--json',
    ]);
    exited(created, EXIT.ok);
    const { token, view } = created.json<{ token: string; view: { role: string; tenantId: string; name: string } }>();
    assert.match(token, /^apt_/);
    assert.deepEqual([view.name, view.role, view.tenantId], ['ci', 'viewer', 'acme']);
    story.viewerToken = token;

    const viewer = { AGENTPOD_URL: url, AGENTPOD_TOKEN: token };
    const [who, rename, renameHuman, adminToken] = await Promise.all([
      bob.run(['whoami', '--json'], { env: viewer }),
      bob.run(['tenant', 'rename', 'acme', '--name', 'X', '--json'], { env: viewer }),
      bob.run(['tenant', 'rename', 'acme', '--name', 'X'], { env: viewer }),
      bob.run(['token', 'create', '--name', 'up', '--tenant', 'acme', '--role', 'admin', '--json']),
    ]);
    exited(who, EXIT.ok);
    assert.deepEqual([who.json<Whoami>().principal.via, who.json<Whoami>().principal.userId], ['token', story.bobId]);
    failed(rename, EXIT.denied, 'forbidden');
    oneLineError(renameHuman, EXIT.denied, /viewer|read-only|forbidden|not allowed|needs/i);
    failed(adminToken, EXIT.denied, 'forbidden');
    const status = await admin.run(['tenant', 'status', 'acme', '--json']);
    exited(status, EXIT.ok);
    assert.equal(status.json<TenantView>().name, 'Acme Corporation');

    const tokens = await bob.run(['token', 'list', '--json']);
    exited(tokens, EXIT.ok);
    const names = tokens.json<{ tokens: { name: string }[] }>().tokens.map((t) => t.name);
    assert.ok(!names.includes('up'), names.join());
    assert.ok(names.includes('ci'), names.join());
  });

  test('6. audit lists the changes newest first; events are tenant-scoped for bob', async () => {
    // The raw log is read straight from JetStream; the audit log follows other services' streams a moment behind.
    const raw = await admin.run(['events', '--tenant', 'acme', '--json']);
    exited(raw, EXIT.ok);
    const logged = ndjson(raw.stdout);
    assert.ok(logged.length > 0);
    const acmeAudit = async () => {
      const answer = await http(url, 'GET', '/api/v1/audit?tenant=acme&limit=500', { token: story.adminToken });
      const { entries } = answer.body as { entries: AuditEntry[] };
      assert.deepEqual(entries.map((e) => e.eventId).sort(), logged.map((e) => e.id).sort());
    };
    await eventually(acmeAudit);

    const [audit, table] = await Promise.all([
      admin.run(['audit', '--tenant', 'acme', '--limit', '500', '--json']),
      admin.run(['audit', '--tenant', 'acme']),
    ]);
    exited(audit, EXIT.ok);
    const { entries } = audit.json<{ entries: AuditEntry[]; next: string | null }>();
    story.auditBefore = entries;
    const types = entries.map((e) => e.type);
    for (const type of ['TenantCreated', 'TenantRenamed', 'MemberAdded', 'InvitationCreated', 'ApiTokenCreated']) {
      assert.ok(types.includes(type), `${type} missing from ${types.join()}`);
    }
    assert.equal(types.at(-1), 'TenantCreated', 'the oldest entry comes last');
    const times = entries.map((e) => Date.parse(e.occurredAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    for (const entry of entries) {
      assert.equal(entry.tenantId, 'acme');
      assert.ok(entry.actor.kind !== '' && entry.actor.id !== '', JSON.stringify(entry));
      assert.ok(entry.correlationId.length > 0, JSON.stringify(entry));
    }
    // Who did it: the credential used. The admin works through the bootstrap token, bob through his CLI token.
    const byType = (type: string) => entries.filter((e) => e.type === type);
    // Each token actor names the person holding it.
    const adminActor = { kind: 'token', id: story.adminTokenId, onBehalfOf: story.adminId };
    assert.deepEqual(byType('TenantCreated')[0]?.actor, adminActor);
    assert.deepEqual(byType('TenantRenamed')[0]?.actor, adminActor);
    assert.deepEqual(byType('InvitationCreated')[0]?.actor, adminActor);
    assert.deepEqual(byType('ApiTokenCreated')[0]?.actor, {
      kind: 'token',
      id: story.bobTokenId,
      onBehalfOf: story.bobId,
    });
    // So filtering by the person finds what they did through their tokens.
    const byAdmin = await admin.run([
      'audit',
      '--tenant',
      'acme',
      '--actor',
      story.adminId,
      '--limit',
      '500',
      '--json',
    ]);
    exited(byAdmin, EXIT.ok);
    const adminEntries = byAdmin.json<{ entries: AuditEntry[] }>().entries;
    assert.ok(
      adminEntries.some((e) => e.type === 'TenantCreated'),
      'the admin created acme through a token',
    );
    assert.ok(
      adminEntries.every((e) => e.actor.id === story.adminId || e.actor.onBehalfOf === story.adminId),
      JSON.stringify(adminEntries.map((e) => e.actor)),
    );
    assert.deepEqual(
      byType('MemberAdded').map((e) => (e.data as { email: string }).email),
      [BOB, ADMIN],
    );
    exited(table, EXIT.ok);
    assert.match(table.stdout, /^TIME +TYPE +TENANT +ACTOR +AGGREGATE$/m);
    assert.match(table.stdout.trimEnd().split('\n').at(-1) ?? '', /TenantCreated +acme /);

    // bob sees acme's events, and nothing else: no other tenant's, no platform-wide ones.
    const [mine, everything, otherEvents, otherAudit, otherStatus, ownAudit] = await Promise.all([
      bob.run(['events', '--tenant', 'acme', '--json']),
      bob.run(['events', '--json']),
      bob.run(['events', '--tenant', 'globex', '--json']),
      bob.run(['audit', '--tenant', 'globex', '--json']),
      bob.run(['tenant', 'status', 'globex', '--json']),
      bob.run(['audit', '--tenant', 'acme', '--json']),
    ]);
    exited(mine, EXIT.ok);
    assert.deepEqual(
      ndjson(mine.stdout).map((e) => e.id),
      logged.map((e) => e.id),
    );
    exited(everything, EXIT.ok);
    const seen = ndjson(everything.stdout);
    assert.ok(seen.length > 0);
    assert.deepEqual([...new Set(seen.map((e) => e.tenantId))], ['acme']);

    // globex exists, but for bob it is as absent as a tenant that does not.
    failed(otherEvents, EXIT.denied, 'not_found');
    failed(otherAudit, EXIT.denied, 'not_found');
    failed(otherStatus, EXIT.denied, 'not_found');
    // A member of acme, but the audit log is for its admins.
    failed(ownAudit, EXIT.denied, 'forbidden');
  });

  test('7. admin replay --all rebuilds every read model identically; the audit log is unchanged', async () => {
    const replay = await admin.run(['admin', 'replay', '--all', '--json']);
    exited(replay, EXIT.ok);
    const { reports } = replay.json<{ reports: Report[] }>();
    assert.deepEqual(reports.map((r) => r.service).sort(), [
      'ai',
      'identity',
      'monitor',
      'pods',
      'reconciler',
      'tenants',
    ]);
    for (const report of reports) {
      assert.equal(report.identical, true, JSON.stringify(report));
      assert.equal(report.swapped, true, JSON.stringify(report));
    }
    // The story wrote to the identity and tenants logs; no pod exists yet, so the others replay empty logs.
    const events = Object.fromEntries(reports.map((r) => [r.service, r.events]));
    assert.ok((events.identity ?? 0) > 0 && (events.tenants ?? 0) > 0, JSON.stringify(events));
    const audit = await admin.run(['audit', '--tenant', 'acme', '--limit', '500', '--json']);
    exited(audit, EXIT.ok);
    assert.deepEqual(audit.json<{ entries: AuditEntry[] }>().entries, story.auditBefore);
    // The table a person reads: one service this time.
    const table = await admin.run(['admin', 'replay', 'tenants']);
    exited(table, EXIT.ok);
    assert.match(table.stdout, /^tenants +\d+ +\S+ +yes +yes$/m);
  });

  test('8. logout removes the credential; whoami then says not signed in', async () => {
    const out = await admin.run(['logout', '--json']);
    exited(out, EXIT.ok);
    // The token was pasted in, not made by login: it may be in use elsewhere, so it is not revoked.
    assert.deepEqual(out.json(), { signedOut: true, url, revokedTokenId: null });
    await assert.rejects(stat(admin.credentialsFile), { code: 'ENOENT' });
    const [whoami, human, withToken] = await Promise.all([
      admin.run(['whoami', '--json']),
      admin.run(['whoami'], { env: { AGENTPOD_URL: url } }),
      admin.run(['whoami'], { env: asAdmin }),
    ]);
    failed(whoami, EXIT.auth, 'unauthenticated');
    oneLineError(human, EXIT.auth, /not signed in/);
    exited(withToken, EXIT.ok);

    // bob's token was created by login --email, so logout revokes it: the old secret is refused afterwards.
    const saved = JSON.parse(await readFile(bob.credentialsFile, 'utf8')) as { token: string; tokenId: string };
    const bobOut = await bob.run(['logout', '--json']);
    exited(bobOut, EXIT.ok);
    assert.equal(bobOut.json<{ revokedTokenId: string }>().revokedTokenId, saved.tokenId);
    const [revoked, ci] = await Promise.all([
      bob.run(['whoami', '--json'], { env: { AGENTPOD_URL: url, AGENTPOD_TOKEN: saved.token } }),
      bob.run(['whoami', '--json'], { env: { AGENTPOD_URL: url, AGENTPOD_TOKEN: story.viewerToken } }),
    ]);
    failed(revoked, EXIT.auth, 'unauthenticated');
    // Only the token login made goes: the ci token bob minted himself still works.
    exited(ci, EXIT.ok);
  });

  test('9. injection-shaped and oversized input is refused with exit 2 and changes nothing', async () => {
    const listed = async () => {
      const list = await admin.run(['tenant', 'list', '--json'], { env: asAdmin });
      exited(list, EXIT.ok);
      return list.json<{ tenants: TenantView[] }>().tenants;
    };
    const before = await listed();
    const attempts: [id: string, name: string][] = [
      ['../x', 'Dots'],
      ['\u0430cme', 'Homoglyph'], // Cyrillic а: looks like acme, is not a slug
      ['a;rm -rf /', 'Shell'],
      ['$(id)', 'Substitution'],
      ['okay', 'x'.repeat(10 * 1024)],
      [`a${'b'.repeat(10 * 1024)}`, 'Long id'],
    ];
    const results = await Promise.all(
      attempts.map(([id, name]) => admin.run(['tenant', 'create', id, '--name', name, '--json'], { env: asAdmin })),
    );
    results.forEach((result, i) => {
      const error = failed(result, EXIT.usage, 'invalid');
      assert.match(error.message, /<id>|--name/, `attempt ${i}: ${error.message}`);
      assert.ok(error.message.length < 500, `attempt ${i}: the message must not echo 10 kB back`);
    });
    oneLineError(await admin.run(['tenant', 'create', '../x', '--name', 'Dots'], { env: asAdmin }), EXIT.usage, /<id>/);
    // The CLI refuses before sending; the gateway refuses the same values on its own.
    for (const [id, name] of attempts) {
      const answer = await http(url, 'POST', '/api/v1/tenants', { token: story.adminToken, body: { id, name } });
      assert.equal(answer.status, 400, `${id.slice(0, 20)}: ${JSON.stringify(answer.body).slice(0, 300)}`);
      assert.equal((answer.body as ErrorJson).error.code, 'invalid');
    }
    assert.deepEqual(await listed(), before);
  });

  test('in SMTP mode the gateway printed no link', () => {
    assert.deepEqual(stack.notices, []);
  });
});
