import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A tenant's webhook endpoint: a local HTTP server that records every request it gets (headers and the raw body,
 * which is what a signature covers) and answers 200, or the statuses the test queued to exercise retries.
 */

export type WebhookCall = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as received, byte for byte (as UTF-8 text). */
  body: string;
  /** The body as JSON; undefined when it is not JSON. */
  json: unknown;
  /** performance.now() when it arrived. */
  at: number;
};

export type WebhookSink = {
  url: string;
  calls: WebhookCall[];
  /** The statuses the next calls are answered with, one each, in order; after them 200. */
  answerNext(statuses: readonly number[]): void;
  /** The first call (already received or still to come) that `matches`; rejects after `timeoutMs`. */
  next(matches: (call: WebhookCall) => boolean, timeoutMs?: number): Promise<WebhookCall>;
  close(): Promise<void>;
};

export async function startWebhookSink(): Promise<WebhookSink> {
  const calls: WebhookCall[] = [];
  const listeners = new Set<() => void>();
  const queued: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      calls.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
        at: performance.now(),
      });
      res.writeHead(queued.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
      for (const listener of listeners) listener();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/agentpod`,
    calls,
    answerNext(statuses) {
      queued.push(...statuses);
    },
    next(matches, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = calls.find(matches);
          if (found) done(() => resolve(found));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `no matching webhook call in ${timeoutMs} ms; got ${calls.length}: ` +
                    calls.map((call) => call.body.slice(0, 300)).join(' | '),
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const same = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/**
 * Which header carries a valid HMAC-SHA256 of the call with `secret`, if any. Accepts the usual shapes, so the
 * test checks that the call is signed, not which of them the sender chose: the digest (hex or base64, optionally
 * `sha256=`-prefixed) of the raw body, or of `<timestamp>.<body>` with the timestamp from a `t=` part of the same
 * header (`t=…,v1=…`) or from a header named like `*-timestamp`.
 */
export function signatureHeader(call: WebhookCall, secret: string): string | undefined {
  const digests = (payload: string) => {
    const mac = createHmac('sha256', secret).update(payload);
    const raw = mac.digest();
    return [raw.toString('hex'), raw.toString('base64')];
  };
  const timestamps = Object.entries(call.headers)
    .filter(([name]) => /timestamp/i.test(name))
    .map(([, value]) => String(value));
  for (const [name, value] of Object.entries(call.headers)) {
    if (typeof value !== 'string') continue;
    const parts = value.split(/[,\s]+/).map((part) => part.replace(/^(?:sha256|v1|s|signature)=/i, ''));
    const stamp = /(?:^|,)\s*t=([^,]+)/.exec(value)?.[1];
    const payloads = [call.body, ...[stamp, ...timestamps].flatMap((t) => (t ? [`${t}.${call.body}`] : []))];
    for (const payload of payloads) {
      for (const digest of digests(payload)) if (parts.some((part) => same(part, digest))) return name;
    }
  }
  return undefined;
}
