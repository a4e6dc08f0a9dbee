import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AppError, Principal } from '@agentpod/contracts';
import { freePort } from '@agentpod/kit/testing';
import { sha256 } from './credentials.ts';
import { SignInRequestLog } from './magic-link/request-log.ts';
import { opsDb } from './ops/schema.ts';
import { LINK_RATE_LIMIT } from './settings.ts';
import { type Harness, startIdentity } from './testing/harness.ts';

/*
 * Asking for a sign-in link must not tell whether an address has an account: not by the answers (the per-address
 * limit counts requests, whatever the address), not by the time they take (the email goes out after the reply),
 * and not by an SMTP failure (the reply does not wait for it).
 */

/** One request's outcome as a caller sees it: `{}`, or the error code. */
const outcome = (h: Harness, email: string): Promise<string> =>
  h.call('requestMagicLink', { email }).then(
    (reply) => JSON.stringify(reply),
    (error: AppError) => {
      if (error.code !== 'rate_limited') return error.code;
      const { retryAfterSeconds } = error.details as { retryAfterSeconds: number };
      assert.ok(retryAfterSeconds > 0 && retryAfterSeconds <= 15 * 60, `retryAfterSeconds ${retryAfterSeconds}`);
      return error.code;
    },
  );

const SIX_ANSWERS = ['{}', '{}', '{}', '{}', '{}', 'rate_limited'];

describe('sign-in links do not reveal which addresses have accounts (SMTP mode)', () => {
  let h: Harness;
  let admin: Principal;
  const real = 'real@example.com';
  const unknown = 'unknown@example.com';
  const disabled = 'disabled@example.com';

  before(async () => {
    h = await startIdentity({ smtp: true });
    const boot = await h.call('bootstrapAdmin', { email: 'admin@example.com' });
    admin = await h.call('authenticate', { credential: boot.token });
    await h.call('ensureUser', { email: real });
    const off = await h.call('ensureUser', { email: disabled });
    await h.call('setUserDisabled', { userId: off.id, disabled: true }, admin);
  });
  after(async () => {
    await h?.stop();
  });

  test('an address with an account, an unknown one and a disabled one get the same six answers', async () => {
    const answers: Record<string, string[]> = { [real]: [], [unknown]: [], [disabled]: [] };
    for (let n = 0; n < 6; n++) {
      for (const email of [real, unknown, disabled]) answers[email]?.push(await outcome(h, email));
    }
    assert.deepEqual(answers, { [real]: SIX_ANSWERS, [unknown]: SIX_ANSWERS, [disabled]: SIX_ANSWERS });
  });

  test('requests are counted per address hash, shared in the database; no address is stored', async () => {
    const rows = await h.service.runtime.sql<{ email_hash: string; requests: number }[]>`
      select email_hash, count(*)::int as requests from identity_ops.sign_in_requests group by email_hash`;
    const counted = Object.fromEntries(rows.map((row) => [row.email_hash, row.requests]));
    for (const email of [real, unknown, disabled]) assert.equal(counted[sha256(email)], 5, email);
    const stored = await h.service.runtime.sql<{ row: string }[]>`
      select row_to_json(r)::text as row from identity_ops.sign_in_requests r`;
    for (const { row } of stored) assert.doesNotMatch(row, /@/);
  });

  test('two replicas racing on one address admit exactly the limit', async () => {
    const { runtime } = h.service;
    const replicas = [0, 1].map(
      () => new SignInRequestLog({ db: opsDb(runtime), limit: LINK_RATE_LIMIT, logger: runtime.logger }),
    );
    // Open the pool's connections first, so the racing transactions really run side by side.
    await Promise.all(Array.from({ length: 8 }, () => runtime.sql`select pg_sleep(0.05)`));
    const now = runtime.clock();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, n) => replicas[n % 2]?.admit('racing@example.com', now)),
    );
    assert.equal(results.filter((refusal) => refusal === undefined).length, LINK_RATE_LIMIT.max);
    assert.ok(results.every((refusal) => refusal === undefined || refusal.code === 'rate_limited'));
  });

  test('the five links of the account arrive by email', async () => {
    for (let n = 0; n < 5; n++) await h.nextLinkToken(real);
  });

  test('after the window the account may ask again, and its link still arrives', async () => {
    h.advance(15 * 60_000);
    assert.deepEqual(await h.call('requestMagicLink', { email: real }), {});
    await h.nextLinkToken(real);
  });

  test('stopping waits for an email still being sent; no other address ever got one', async () => {
    const late = 'late@example.com';
    await h.call('ensureUser', { email: late });
    assert.deepEqual(await h.call('requestMagicLink', { email: late }), {});
    await h.service.stop();
    assert.equal(h.smtp?.messages.filter((m) => m.to.includes(late)).length, 1, 'the email was sent before the stop');
    const recipients = new Set(h.smtp?.messages.flatMap((m) => m.to));
    assert.ok(!recipients.has(unknown) && !recipients.has(disabled), [...recipients].join(', '));
    assert.equal(h.smtp?.messages.filter((m) => m.to.includes(real)).length, 6);
  });
});

/** Every log line, checked for the address and the link, once the service has stopped (so every send ended). */
function assertLogsHide(h: Harness, email: string): void {
  for (const line of h.logs) {
    assert.ok(!line.includes(email), `a log line holds the address: ${line}`);
    assert.doesNotMatch(line, /apl_|#token=/);
  }
}

const gaveUp = (h: Harness) =>
  h.logs
    .map((line) => JSON.parse(line) as { msg?: string; kind?: string; attempts?: number; err?: unknown })
    .filter((line) => line.msg === 'email could not be sent; gave up');

describe('sign-in links when the SMTP server is down', () => {
  let h: Harness;
  const email = 'someone@example.com';

  before(async () => {
    // A port nothing listens on: every connection is refused.
    h = await startIdentity({ smtp: { url: `smtp://127.0.0.1:${await freePort()}` } });
  });
  after(async () => {
    await h?.stop();
  });

  test('the request succeeds; the send is retried, then logged as failed without the link or the address', async () => {
    await h.call('ensureUser', { email });
    assert.deepEqual(await h.call('requestMagicLink', { email }), {});
    await h.service.stop();
    const failures = gaveUp(h);
    assert.equal(failures.length, 1, h.logs.join(''));
    assert.deepEqual(failures[0]?.kind, 'sign-in link');
    assert.equal(failures[0]?.attempts, 3);
    assert.deepEqual(failures[0]?.err, { code: 'unavailable', name: 'Error', smtpCode: 'ESOCKET', command: 'CONN' });
    assert.equal(h.logs.filter((line) => line.includes('email not sent; retrying')).length, 2);
    assertLogsHide(h, email);
  });
});

/**
 * An SMTP server that refuses every recipient with a reply that echoes the address, as real servers do: the
 * error nodemailer raises then carries the address in its message.
 */
async function startRefusingSmtp(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    socket.write('220 refusing.test ESMTP\r\n');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\r\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 refusing.test\r\n');
        else if (verb === 'MAIL' || verb === 'RSET') socket.write('250 OK\r\n');
        else if (verb === 'RCPT') socket.write(`550 5.1.1 ${line.slice('RCPT TO:'.length)}: no such mailbox\r\n`);
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 not implemented\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the refusing SMTP server has no port');
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('sign-in links when the SMTP server refuses the recipient, echoing the address', () => {
  let h: Harness;
  let smtp: { url: string; stop(): Promise<void> } | undefined;
  const email = 'refused@example.com';

  before(async () => {
    smtp = await startRefusingSmtp();
    h = await startIdentity({ smtp: { url: smtp.url } });
  });
  after(async () => {
    await h?.stop();
    await smtp?.stop();
  });

  test('the request succeeds, and no log line holds the address', async () => {
    await h.call('ensureUser', { email });
    assert.deepEqual(await h.call('requestMagicLink', { email }), {});
    await h.service.stop();
    const failures = gaveUp(h);
    assert.equal(failures.length, 1, h.logs.join(''));
    assert.deepEqual(failures[0]?.err, {
      code: 'unavailable',
      name: 'Error',
      smtpCode: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
    });
    assert.ok(
      h.logs.some((line) => line.includes('email could not be sent"')),
      'the mailer logged the failure (with its error redacted)',
    );
    assertLogsHide(h, email);
  });
});
