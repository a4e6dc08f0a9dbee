import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvitationId } from '@agentpod/contracts';
import { auditData } from '../audit/projection.ts';
import { invitationLink } from './invitation-mail.ts';
import { hashToken, newInvitationId, newInvitationToken } from './secrets.ts';

test('an invitation token is prefixed, carries 256 random bits, and is never the same twice', () => {
  const tokens = new Set(Array.from({ length: 100 }, newInvitationToken));
  assert.equal(tokens.size, 100);
  for (const token of tokens) {
    assert.match(token, /^apv_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token.slice(4), 'base64url').length, 32);
  }
});

test('only the SHA-256 hex of a token is kept', () => {
  const token = newInvitationToken();
  assert.match(hashToken(token), /^[0-9a-f]{64}$/);
  assert.equal(hashToken(token), hashToken(token));
  assert.notEqual(hashToken(token), hashToken(`${token}x`));
});

test('invitation ids satisfy the contract', () => {
  for (let i = 0; i < 50; i++) assert.ok(InvitationId.safeParse(newInvitationId()).success);
});

test('the link puts the token in the fragment of the configured public URL', () => {
  assert.equal(
    invitationLink('https://pods.example.com/', 'apv_x'),
    'https://pods.example.com/invitations/accept#token=apv_x',
  );
  assert.equal(
    invitationLink('https://example.com/agentpod', 'apv_x'),
    'https://example.com/agentpod/invitations/accept#token=apv_x',
  );
});

test('audit data leaves hashes out and survives NUL characters', () => {
  const data = { email: 'a@b.c', tokenHash: 'f'.repeat(64), nested: { secretHash: 'x', note: 'a\u0000b' } };
  assert.deepEqual(JSON.parse(auditData(data)), { email: 'a@b.c', nested: { note: 'a\uFFFDb' } });
  assert.equal(auditData(undefined), 'null');
});
