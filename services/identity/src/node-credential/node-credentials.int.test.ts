import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type AppError,
  commandSubject,
  controlSubjects,
  NODE_JOIN_TOKEN_TTL_MS,
  type NodeCredentialResult,
  type NodeCredentialResults,
  type Principal,
  querySubject,
  type RequestMeta,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { sha256 } from '../credentials.ts';
import { type Harness, startIdentity } from '../testing/harness.ts';

type Name = keyof typeof NodeCredentialResults;

const refused = (code: string, message?: RegExp) => (error: AppError) => {
  assert.equal(error.code, code, error.message);
  if (message) assert.match(error.message, message);
  return true;
};

const asSystem = (service: string): RequestMeta => ({ actor: systemActor(service), correlationId: randomUUID() });
const asUser = (principal: Principal): RequestMeta => ({
  actor: { kind: 'user', id: principal.userId },
  correlationId: randomUUID(),
  principal,
});

let counter = 0;
/** A fresh node id per test, so tests do not share an aggregate. */
const newNodeId = () => `nod_${String(++counter).padStart(24, '0')}`;

describe('identity: node join tokens and credentials', () => {
  let h: Harness;
  let admin: Principal;
  let member: Principal;

  const call = <K extends Name>(name: K, data: unknown, meta: RequestMeta) =>
    request<NodeCredentialResult<K>>(
      h.service.runtime.nc,
      name === 'authenticateNode' ? querySubject('identity', name) : commandSubject('identity', name),
      data,
      meta,
    );
  const issue = (nodeId: string) => call('issueNodeJoinToken', { nodeId }, asSystem('pods'));
  const redeem = (token: string) => call('redeemNodeJoinToken', { token }, asSystem('gateway'));
  const authenticate = (credential: string) => call('authenticateNode', { credential }, asSystem('gateway'));

  before(async () => {
    h = await startIdentity({ smtp: false });
    const boot = await h.call('bootstrapAdmin', { email: 'root@example.com' });
    admin = await h.call('authenticate', { credential: boot.token });
    await h.call('ensureUser', { email: 'member@example.com' });
    member = (await h.signIn('member@example.com')).principal;
  });
  after(async () => {
    await h?.stop();
  });

  test('only the pods service issues join tokens', async () => {
    const nodeId = newNodeId();
    await assert.rejects(call('issueNodeJoinToken', { nodeId }, asSystem('gateway')), refused('forbidden'));
    await assert.rejects(call('issueNodeJoinToken', { nodeId }, asUser(admin)), refused('forbidden'));
    const issued = await issue(nodeId);
    assert.match(issued.token, /^apj_[a-z0-9]{24}_[A-Za-z0-9_-]{43}$/);
  });

  test('a join token gives one credential that authenticates as the node; the token then no longer works', async () => {
    const nodeId = newNodeId();
    const { token } = await issue(nodeId);
    const joined = await redeem(token);
    assert.equal(joined.nodeId, nodeId);
    assert.match(joined.credential, /^apn_[a-z0-9]{24}_[A-Za-z0-9_-]{43}$/);
    h.secrets.add(token);
    h.secrets.add(joined.credential);
    assert.deepEqual(await authenticate(joined.credential), { nodeId });
    await assert.rejects(redeem(token), refused('unauthenticated', /already been used/));
    const last = joined.credential.at(-1) === 'A' ? 'B' : 'A';
    await assert.rejects(authenticate(`${joined.credential.slice(0, -1)}${last}`), refused('unauthenticated'));
  });

  test('two redemptions at once: exactly one credential', async () => {
    const { token } = await issue(newNodeId());
    const results = await Promise.allSettled([redeem(token), redeem(token), redeem(token)]);
    const won = results.filter((result) => result.status === 'fulfilled');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const result of results) {
      if (result.status === 'rejected') refused('unauthenticated')(result.reason as AppError);
    }
  });

  test('a join token expires after one hour (service clock)', async () => {
    const { token, expiresAt } = await issue(newNodeId());
    assert.ok(Date.parse(expiresAt) - Date.now() <= NODE_JOIN_TOKEN_TTL_MS);
    h.advance(NODE_JOIN_TOKEN_TTL_MS);
    try {
      await assert.rejects(redeem(token), refused('unauthenticated', /expired/));
    } finally {
      h.advance(-NODE_JOIN_TOKEN_TTL_MS);
    }
  });

  test('a new join token replaces the old one, and joining again replaces the credential', async () => {
    const nodeId = newNodeId();
    const first = await issue(nodeId);
    const second = await issue(nodeId);
    await assert.rejects(redeem(first.token), refused('unauthenticated'));
    const joined = await redeem(second.token);
    const rejoined = await redeem((await issue(nodeId)).token);
    assert.deepEqual(await authenticate(rejoined.credential), { nodeId });
    await assert.rejects(authenticate(joined.credential), refused('unauthenticated'));
  });

  test('revoking: pods or a platform admin only; the credential fails at once and every gateway is told', async () => {
    const nodeId = newNodeId();
    const joined = await redeem((await issue(nodeId)).token);
    await assert.rejects(call('revokeNode', { nodeId }, asUser(member)), refused('forbidden'));
    await assert.rejects(call('revokeNode', { nodeId }, asSystem('gateway')), refused('forbidden'));
    assert.deepEqual(await authenticate(joined.credential), { nodeId });

    const broadcasts = h.service.runtime.nc.subscribe(controlSubjects.nodeRevoked, { max: 2 });
    await call('revokeNode', { nodeId }, asSystem('pods'));
    await assert.rejects(authenticate(joined.credential), refused('unauthenticated', /revoked/));
    // A second revocation (a retry) changes nothing but is broadcast again.
    await call('revokeNode', { nodeId }, asUser(admin));
    const seen: unknown[] = [];
    for await (const message of broadcasts) seen.push(message.json());
    assert.deepEqual(seen, [{ nodeId }, { nodeId }]);
  });

  test('bad shapes are refused without touching the log', async () => {
    await assert.rejects(redeem('apj_not_a_real_token_at_all'), refused('unauthenticated'));
    await assert.rejects(authenticate('apt_0123456789abcdef01234567_secret'), refused('unauthenticated'));
    await assert.rejects(authenticate('x'), refused('invalid'));
  });

  test('secrets are stored only as hashes', async () => {
    const stored = (await h.storedText()).join('\n');
    for (const secret of h.secrets) {
      if (!/^ap[jn]_/.test(secret)) continue;
      assert.ok(!stored.includes(secret), 'a node secret is stored in clear');
      assert.ok(stored.includes(sha256(secret)), 'its hash is stored');
    }
    const logged = h.logs.join('\n');
    for (const secret of h.secrets) assert.ok(!logged.includes(secret), 'a secret is in the log');
  });
});
