import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { attemptOutcome, isDelivered, type RetryPolicy, retryDelayMs } from './backoff.ts';
import { deliveryHeaders, signature, verifySignature } from './signing.ts';

const SECRET = 'whsec_test-secret';

describe('signing a delivery', () => {
  test('sha256= and the hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret', () => {
    const body = '{"id":"dlv_x","type":"ping"}';
    const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
    assert.equal(signature(SECRET, 1_700_000_000, body), `sha256=${expected}`);
  });

  test('the headers carry the event, the delivery id, the timestamp (seconds) and its signature', () => {
    const body = '{"a":1}';
    const headers = deliveryHeaders({
      secret: SECRET,
      body,
      at: new Date('2026-01-02T03:04:05.678Z'),
      type: 'alert.fired',
      deliveryId: 'dlv_abc',
    });
    assert.equal(headers['x-agentpod-event'], 'alert.fired');
    assert.equal(headers['x-agentpod-delivery'], 'dlv_abc');
    assert.equal(headers['x-agentpod-timestamp'], '1767323045');
    assert.equal(headers['content-type'], 'application/json');
    assert.ok(verifySignature(SECRET, '1767323045', body, headers['x-agentpod-signature'] ?? ''));
  });

  test('verification fails for another secret, body or timestamp, and for garbage', () => {
    const good = signature(SECRET, 100, 'body');
    assert.equal(verifySignature(SECRET, '100', 'body', good), true);
    assert.equal(verifySignature('whsec_other', '100', 'body', good), false);
    assert.equal(verifySignature(SECRET, '100', 'body!', good), false);
    assert.equal(verifySignature(SECRET, '101', 'body', good), false);
    assert.equal(verifySignature(SECRET, 'abc', 'body', good), false);
    assert.equal(verifySignature(SECRET, '100', 'body', 'sha256=00'), false);
  });
});

describe('retrying a delivery', () => {
  const policy: RetryPolicy = { baseMs: 1_000, capMs: 60_000, maxAttempts: 8 };
  const at = new Date('2026-01-01T00:00:00Z');

  test('waits 1 s, 2 s, 4 s… after each failed attempt, capped', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => retryDelayMs(policy, attempt)),
      [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000],
    );
    assert.equal(retryDelayMs({ ...policy, baseMs: 50 }, 3), 200);
  });

  test('a 2xx is delivered; a failure retries until the last attempt, which fails the delivery', () => {
    assert.deepEqual(attemptOutcome(policy, 3, true, at), { outcome: 'delivered', nextAttemptAt: null });
    assert.deepEqual(attemptOutcome(policy, 1, false, at), {
      outcome: 'retrying',
      nextAttemptAt: new Date('2026-01-01T00:00:01Z'),
    });
    assert.deepEqual(attemptOutcome(policy, 3, false, at), {
      outcome: 'retrying',
      nextAttemptAt: new Date('2026-01-01T00:00:04Z'),
    });
    assert.deepEqual(attemptOutcome(policy, 8, false, at), { outcome: 'failed', nextAttemptAt: null });
    assert.deepEqual(attemptOutcome({ ...policy, maxAttempts: 1 }, 1, false, at).outcome, 'failed');
  });

  test('only 2xx answers count as delivered (a redirect is not followed)', () => {
    assert.deepEqual([200, 204, 299, 301, 302, 400, 404, 500, null].map(isDelivered), [
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
