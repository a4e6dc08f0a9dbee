import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, NODE_JOIN_TOKEN_TTL_MS } from '@agentpod/contracts';
import { sha256 } from '../credentials.ts';
import { accepted, foldAt } from '../fold.ts';
import { checkNodeCredential, decideNodeCredential, type NodeCredentialCommand } from './decide.ts';
import { type NodeCredentialState, nodeCredentialAggregate } from './events.ts';
import { newNodeSecret, parseNodeSecret } from './secrets.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const nodeId = 'nod_abcdefghijklmnopqrstuvwx';
const TTL = NODE_JOIN_TOKEN_TTL_MS;
const tokenA = sha256('token-a');
const tokenB = sha256('token-b');
const credential1 = sha256('credential-1');
const credential2 = sha256('credential-2');

const issue = (tokenHash: string): NodeCredentialCommand => ({
  type: 'IssueNodeJoinToken',
  nodeId,
  tokenHash,
  ttlMs: TTL,
});
const redeem = (tokenHash: string, credentialHash: string): NodeCredentialCommand => ({
  type: 'RedeemNodeJoinToken',
  tokenHash,
  credentialHash,
});
const revoke: NodeCredentialCommand = { type: 'RevokeNode', nodeId };

/** Decides each command on the state the previous ones left, all at `now`; every one must be accepted. */
function given(commands: NodeCredentialCommand[], now = t0): NodeCredentialState {
  return commands.reduce(
    (state, command) =>
      foldAt(nodeCredentialAggregate, accepted(decideNodeCredential(command, state, now)), now, state),
    nodeCredentialAggregate.initialState,
  );
}

const refusal = (decision: unknown): string =>
  decision instanceof AppError ? `${decision.code}: ${decision.message}` : 'accepted';

describe('node credential decider', () => {
  test('a join token expires one hour after it is issued', () => {
    assert.deepEqual(decideNodeCredential(issue(tokenA), nodeCredentialAggregate.initialState, t0), [
      { type: 'NodeJoinTokenIssued', data: { nodeId, tokenHash: tokenA, expiresAt: at(TTL).toISOString() } },
    ]);
  });

  test('a join token redeems once, before it expires, for the credential of that redemption', () => {
    const issued = given([issue(tokenA)]);
    const events = decideNodeCredential(redeem(tokenA, credential1), issued, at(TTL - 1));
    assert.deepEqual(events, [{ type: 'NodeCredentialIssued', data: { nodeId, credentialHash: credential1 } }]);
    const joined = foldAt(nodeCredentialAggregate, accepted(events), at(TTL - 1), issued);
    assert.equal(checkNodeCredential(joined, credential1), nodeId);
    const again = decideNodeCredential(redeem(tokenA, credential2), joined, at(TTL - 1));
    assert.match(refusal(again), /^unauthenticated: .*already been used/);
  });

  test('a join token is refused from the moment it expires', () => {
    assert.match(
      refusal(decideNodeCredential(redeem(tokenA, credential1), given([issue(tokenA)]), at(TTL))),
      /expired/,
    );
  });

  test('an unknown token, or any token before one is issued, is refused', () => {
    assert.match(
      refusal(decideNodeCredential(redeem(tokenA, credential1), given([]), t0)),
      /^unauthenticated: .*not valid/,
    );
    assert.match(
      refusal(decideNodeCredential(redeem(tokenB, credential1), given([issue(tokenA)]), t0)),
      /^unauthenticated: .*not valid/,
    );
  });

  test('a newer join token replaces an outstanding one', () => {
    const state = given([issue(tokenA), issue(tokenB)]);
    assert.match(refusal(decideNodeCredential(redeem(tokenA, credential1), state, t0)), /not valid/);
    assert.ok(Array.isArray(decideNodeCredential(redeem(tokenB, credential1), state, t0)));
  });

  test('joining again replaces the credential: only the newest one signs the node in', () => {
    const state = given([issue(tokenA), redeem(tokenA, credential1), issue(tokenB), redeem(tokenB, credential2)]);
    assert.equal(checkNodeCredential(state, credential2), nodeId);
    assert.match(refusal(checkNodeCredential(state, credential1)), /^unauthenticated/);
  });

  test('revoking ends the credential and the outstanding join token; revoking again changes nothing', () => {
    const joined = given([issue(tokenA), redeem(tokenA, credential1), issue(tokenB)]);
    const events = accepted(decideNodeCredential(revoke, joined, t0));
    assert.deepEqual(events, [{ type: 'NodeCredentialsRevoked', data: { nodeId } }]);
    const revoked = foldAt(nodeCredentialAggregate, events, t0, joined);
    assert.match(refusal(checkNodeCredential(revoked, credential1)), /^unauthenticated: .*revoked/);
    assert.match(refusal(decideNodeCredential(redeem(tokenB, credential2), revoked, t0)), /^unauthenticated/);
    assert.deepEqual(decideNodeCredential(revoke, revoked, t0), []);
    assert.deepEqual(decideNodeCredential(revoke, nodeCredentialAggregate.initialState, t0), []);
  });

  test('a node that never joined has no credential', () => {
    assert.match(refusal(checkNodeCredential(given([issue(tokenA)]), credential1)), /^unauthenticated/);
    assert.match(refusal(checkNodeCredential(given([]), credential1)), /^unauthenticated/);
  });
});

describe('node secrets', () => {
  test('carry their node id and at least 256 random bits behind their prefix; only the hash is kept', () => {
    const token = newNodeSecret('joinToken', nodeId);
    const credential = newNodeSecret('credential', nodeId);
    assert.match(token.secret, /^apj_abcdefghijklmnopqrstuvwx_[A-Za-z0-9_-]{43}$/);
    assert.match(credential.secret, /^apn_abcdefghijklmnopqrstuvwx_[A-Za-z0-9_-]{43}$/);
    assert.equal(token.hash, sha256(token.secret));
    assert.notEqual(newNodeSecret('credential', nodeId).secret, credential.secret);
    assert.deepEqual(parseNodeSecret('joinToken', token.secret), { nodeId, hash: token.hash });
    assert.deepEqual(parseNodeSecret('credential', credential.secret), { nodeId, hash: credential.hash });
  });

  test('a secret of another kind or shape is not parsed', () => {
    const token = newNodeSecret('joinToken', nodeId);
    assert.equal(parseNodeSecret('credential', token.secret), undefined);
    assert.equal(parseNodeSecret('joinToken', `${token.secret}x`), undefined);
    assert.equal(parseNodeSecret('joinToken', 'apj_short_secret'), undefined);
    assert.equal(parseNodeSecret('joinToken', token.secret.replace('apj_', 'apj_nod_')), undefined);
  });
});
