import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiTokenId, UserId } from '@agentpod/contracts';
import {
  hashesEqual,
  newApiToken,
  newLinkToken,
  newSessionToken,
  newUserId,
  parseApiToken,
  sha256,
} from './credentials.ts';

describe('credentials', () => {
  test('secrets carry their prefix and 256 random bits', () => {
    for (const [make, prefix] of [
      [newLinkToken, 'apl_'],
      [newSessionToken, 'aps_'],
    ] as const) {
      const value = make();
      assert.ok(value.startsWith(prefix));
      assert.equal(Buffer.from(value.slice(prefix.length), 'base64url').length, 32);
      assert.notEqual(make(), value);
    }
  });

  test('an API token carries its id; parsing gives the id and the hash of the secret part only', () => {
    const { tokenId, token, secretHash } = newApiToken();
    assert.ok(ApiTokenId.safeParse(tokenId).success);
    assert.ok(token.startsWith('apt_'));
    assert.deepEqual(parseApiToken(token), { tokenId, secretHash });
    assert.notEqual(secretHash, sha256(token));
    assert.equal(parseApiToken(`${token}x`), undefined);
    assert.equal(parseApiToken('apt_../x'), undefined);
    assert.equal(parseApiToken(newSessionToken()), undefined);
  });

  test('user ids match the contract', () => {
    assert.ok(UserId.safeParse(newUserId()).success);
  });

  test('hash comparison', () => {
    assert.equal(hashesEqual(sha256('a'), sha256('a')), true);
    assert.equal(hashesEqual(sha256('a'), sha256('b')), false);
    assert.equal(hashesEqual('', ''), false);
  });
});
