import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AppError, Principal } from '@agentpod/contracts';
import { sessionAggregateId } from './credentials.ts';
import { type Harness, PUBLIC_URL, startIdentity } from './testing/harness.ts';

const refused = (code: string) => (error: AppError) => {
  assert.equal(error.code, code, error.message);
  return true;
};
const MINUTE = 60_000;

describe('identity: sign-in by magic link, sessions, bootstrap (SMTP mode)', () => {
  let h: Harness;
  let admin: Principal;

  before(async () => {
    h = await startIdentity({ smtp: true });
  });
  after(async () => {
    await h?.stop();
  });

  test('bootstrap creates the platform admin once, with a sign-in link and an owner-capped token', async () => {
    const result = await h.call('bootstrapAdmin', { email: 'Admin@Example.com' });
    h.secrets.add(result.token);
    assert.equal(result.user.email, 'admin@example.com');
    assert.equal(result.user.platformAdmin, true);
    assert.ok(result.signInLink.startsWith(`${PUBLIC_URL}/auth/callback#token=apl_`));
    admin = await h.call('authenticate', { credential: result.token });
    assert.deepEqual(admin, {
      userId: result.user.id,
      email: 'admin@example.com',
      platformAdmin: true,
      via: 'token',
      tokenId: result.tokenId,
      tokenRole: 'owner',
    });
    await assert.rejects(h.call('bootstrapAdmin', { email: 'admin@example.com' }), refused('conflict'));
    await assert.rejects(h.call('bootstrapAdmin', { email: 'someone@example.com' }), refused('conflict'));
    const linkToken = result.signInLink.split('#token=')[1] ?? '';
    h.secrets.add(linkToken);
    const redeemed = await h.call('redeemMagicLink', { token: linkToken });
    h.secrets.add(redeemed.sessionToken);
    assert.equal(redeemed.user.id, result.user.id);
  });

  test('registration is race-free: two ensureUser calls for one address give one user', async () => {
    const [a, b] = await Promise.all([
      h.call('ensureUser', { email: 'race@example.com' }),
      h.call('ensureUser', { email: 'RACE@example.com ' }),
    ]);
    assert.equal(a.id, b.id);
    const { users } = await h.call('listUsers', {}, admin);
    assert.equal(users.filter((u) => u.email === 'race@example.com').length, 1);
  });

  test('a link arrives by email, is built from AGENTPOD_PUBLIC_URL, and redeems into a session that authenticates', async () => {
    const user = await h.call('ensureUser', { email: 'alice@example.com' });
    assert.deepEqual(await h.call('requestMagicLink', { email: 'alice@example.com' }), {});
    // The email goes out after the reply: wait for it to arrive.
    const mail = await h.smtp?.next('alice@example.com');
    assert.match(mail?.text ?? '', new RegExp(`${PUBLIC_URL.replaceAll('.', '\\.')}/auth/callback#token=apl_`));
    const token = /#token=(apl_[A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1] ?? '';
    h.secrets.add(token);
    const redeemed = await h.call('redeemMagicLink', { token });
    h.secrets.add(redeemed.sessionToken);
    assert.ok(redeemed.sessionToken.startsWith('aps_'));
    assert.equal(redeemed.user.id, user.id);
    const principal = await h.call('authenticate', { credential: redeemed.sessionToken });
    assert.deepEqual(principal, {
      userId: user.id,
      email: 'alice@example.com',
      platformAdmin: false,
      via: 'session',
      sessionId: redeemed.sessionId,
    });
  });

  test('a used link, a tampered link and an expired link are refused', async () => {
    await h.call('requestMagicLink', { email: 'alice@example.com' });
    const token = await h.nextLinkToken('alice@example.com');
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    await assert.rejects(h.call('redeemMagicLink', { token: tampered }), refused('unauthenticated'));
    await h.call('redeemMagicLink', { token });
    await assert.rejects(h.call('redeemMagicLink', { token }), refused('unauthenticated'));

    await h.call('requestMagicLink', { email: 'alice@example.com' });
    const late = await h.nextLinkToken('alice@example.com');
    h.advance(10 * MINUTE + 1_000);
    await assert.rejects(h.call('redeemMagicLink', { token: late }), /expired/);
  });

  test('two parallel redemptions of one link give exactly one session', async () => {
    await h.call('requestMagicLink', { email: 'alice@example.com' });
    const token = await h.nextLinkToken('alice@example.com');
    const sessionsOf = async () =>
      (
        await h.service.runtime.db
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', (await h.call('getUser', { email: 'alice@example.com' })).id)
          .execute()
      ).map((row) => row.id);
    const before = await sessionsOf();
    const results = await Promise.allSettled([0, 1, 2].map(() => h.call('redeemMagicLink', { token })));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as AppError).code, 'unauthenticated');
    const session = won[0]?.status === 'fulfilled' ? won[0].value : undefined;
    h.secrets.add(session?.sessionToken ?? '');
    const added = (await sessionsOf()).filter((id) => !before.includes(id));
    assert.deepEqual(added, [session?.sessionId]);
  });

  test('an unknown address gets the same empty answer and no email; asking creates no account', async () => {
    assert.deepEqual(await h.call('requestMagicLink', { email: 'nobody@example.com' }), {});
    assert.equal(h.smtp?.messages.filter((m) => m.to.includes('nobody@example.com')).length, 0);
    await assert.rejects(h.call('getUser', { email: 'nobody@example.com' }, admin), refused('not_found'));
  });

  test('five links per address per 15 minutes, then rate_limited with retryAfterSeconds', async () => {
    await h.call('ensureUser', { email: 'eager@example.com' });
    for (let n = 0; n < 5; n++) await h.call('requestMagicLink', { email: 'eager@example.com' });
    const error = await h.call('requestMagicLink', { email: 'eager@example.com' }).catch((e: AppError) => e);
    assert.equal((error as AppError).code, 'rate_limited');
    const { retryAfterSeconds } = (error as AppError).details as { retryAfterSeconds: number };
    assert.ok(retryAfterSeconds > 0 && retryAfterSeconds <= 15 * 60, `retryAfterSeconds ${retryAfterSeconds}`);
    h.advance(15 * MINUTE);
    assert.deepEqual(await h.call('requestMagicLink', { email: 'eager@example.com' }), {});
  });

  test('sign out ends that session at once, and only that one', async () => {
    await h.call('ensureUser', { email: 'bob@example.com' });
    const one = await h.signIn('bob@example.com');
    const two = await h.signIn('bob@example.com');
    await h.call('signOut', { sessionToken: one.sessionToken });
    await assert.rejects(h.call('authenticate', { credential: one.sessionToken }), refused('unauthenticated'));
    assert.equal((await h.call('authenticate', { credential: two.sessionToken })).userId, two.principal.userId);
    assert.deepEqual(await h.call('signOut', { sessionToken: one.sessionToken }), {});
  });

  test('sign out everywhere: yourself or a platform admin; every session ends at once', async () => {
    const carol = await h.call('ensureUser', { email: 'carol@example.com' });
    const a = await h.signIn('carol@example.com');
    const b = await h.signIn('carol@example.com');
    const bob = await h.signIn('bob@example.com');
    await assert.rejects(h.call('signOutEverywhere', { userId: carol.id }, bob.principal), refused('forbidden'));
    await h.call('signOutEverywhere', { userId: carol.id }, a.principal);
    for (const session of [a, b]) {
      await assert.rejects(h.call('authenticate', { credential: session.sessionToken }), refused('unauthenticated'));
    }
    const c = await h.signIn('carol@example.com');
    await h.call('signOutEverywhere', { userId: carol.id }, admin);
    await assert.rejects(h.call('authenticate', { credential: c.sessionToken }), refused('unauthenticated'));
  });

  test('a session slides: used after more than an hour, its expiry moves on', async () => {
    const dave = await h.call('ensureUser', { email: 'dave@example.com' });
    const { sessionToken } = await h.signIn('dave@example.com');
    const expiries = async () =>
      (await h.service.runtime.store.read('identity', sessionAggregateId(sessionToken))).map(
        (e) => `${e.envelope.type} ${(e.envelope.data as { expiresAt: string }).expiresAt}`,
      );
    assert.equal((await h.call('authenticate', { credential: sessionToken })).userId, dave.id);
    assert.equal((await expiries()).length, 1, 'no renewal within the hour');
    h.advance(2 * 60 * MINUTE);
    assert.equal((await h.call('authenticate', { credential: sessionToken })).userId, dave.id);
    const [started, renewed, ...rest] = await expiries();
    assert.match(started ?? '', /^SessionStarted /);
    assert.match(renewed ?? '', /^SessionRenewed /);
    assert.ok((renewed ?? '').slice(15) > (started ?? '').slice(15), `${renewed} after ${started}`);
    assert.deepEqual(rest, []);
  });

  test('a disabled user cannot sign in or ask for a link; only a platform admin disables; not yourself', async () => {
    const erin = await h.call('ensureUser', { email: 'erin@example.com' });
    const session = await h.signIn('erin@example.com');
    await assert.rejects(
      h.call('setUserDisabled', { userId: erin.id, disabled: true }, session.principal),
      refused('forbidden'),
    );
    await assert.rejects(
      h.call('setUserDisabled', { userId: admin.userId, disabled: true }, admin),
      refused('invalid'),
    );
    await h.call('requestMagicLink', { email: 'erin@example.com' });
    const pending = await h.nextLinkToken('erin@example.com');
    const view = await h.call('setUserDisabled', { userId: erin.id, disabled: true }, admin);
    assert.equal(view.disabled, true);
    await assert.rejects(h.call('authenticate', { credential: session.sessionToken }), /disabled/);
    await assert.rejects(h.call('redeemMagicLink', { token: pending }), refused('unauthenticated'));
    const sent = h.smtp?.messages.length;
    assert.deepEqual(await h.call('requestMagicLink', { email: 'erin@example.com' }), {});
    assert.equal(h.smtp?.messages.length, sent);
    await h.call('setUserDisabled', { userId: erin.id, disabled: false }, admin);
    await assert.rejects(h.call('authenticate', { credential: session.sessionToken }), refused('unauthenticated'));
  });

  test('no link or token reaches a log line in SMTP mode', () => {
    assert.ok(
      h.logs.some((line) => line.includes('email sent')),
      'the capture sees the service log',
    );
    for (const line of h.logs) {
      assert.doesNotMatch(line, /apl_|aps_|apt_|#token=/);
      for (const secret of h.secrets) assert.ok(!line.includes(secret));
    }
  });

  test('no secret is stored in the event log or the tables', async () => {
    const texts = await h.storedText();
    assert.ok(texts.some((text) => text.includes('MagicLinkIssued')));
    for (const text of texts) {
      assert.doesNotMatch(text, /apl_|aps_|apt_/);
      for (const secret of h.secrets) assert.ok(!text.includes(secret.slice(4)), 'a secret is stored');
    }
  });

  test('replaying the read models from the log gives identical rows', async () => {
    const report = await h.service.runtime.replay({ compare: true });
    assert.ok(report.events > 0);
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
  });
});
