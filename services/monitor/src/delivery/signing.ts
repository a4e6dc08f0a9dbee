import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_HEADERS } from '@agentpod/contracts';

/*
 * How a receiver knows a delivery is ours and fresh: `X-AgentPod-Signature: sha256=<hex>` where <hex> is
 * HMAC-SHA256 keyed with the webhook's secret (its text, `whsec_…`, as UTF-8) over `<timestamp>.<body>`, and
 * `X-AgentPod-Timestamp` is that timestamp (Unix seconds). Signing the timestamp with the body lets a receiver
 * refuse a captured delivery replayed later.
 */

export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (in constant time): true when `header` is the signature of `timestamp` and `body`. */
export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const expected = Buffer.from(signature(secret, Number(timestamp), body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The headers of one attempt of a delivery. */
export function deliveryHeaders(input: {
  secret: string;
  body: string;
  at: Date;
  type: string;
  deliveryId: string;
}): Record<string, string> {
  const timestamp = Math.floor(input.at.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'AgentPod-Webhook/1',
    [WEBHOOK_HEADERS.event]: input.type,
    [WEBHOOK_HEADERS.delivery]: input.deliveryId,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: signature(input.secret, timestamp, input.body),
  };
}
