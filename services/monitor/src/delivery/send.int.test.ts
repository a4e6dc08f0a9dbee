import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@agentpod/kit/testing';
import { postJson } from './send.ts';

/* One POST against a real local HTTP server: what a delivery attempt records for each kind of answer. */

describe('posting a delivery (real HTTP on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const bodies: string[] = [];
  const never = new AbortController().signal;
  const open = { timeoutMs: 2_000, allowPrivate: true, signal: never };

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        if (request.url === '/hang') return; // never answers
        if (request.url === '/moved') {
          response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
          return;
        }
        response.statusCode = request.url === '/fail' ? 500 : 204;
        response.end('ignored body');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('the status of the answer, the body sent as given', async () => {
    const result = await postJson(`${base}/ok`, '{"a":1}', { 'content-type': 'application/json' }, open);
    assert.equal(result.statusCode, 204);
    assert.equal(result.error, null);
    assert.ok(result.durationMs >= 0);
    assert.equal(bodies.at(-1), '{"a":1}');
    assert.equal((await postJson(`${base}/fail`, '{}', {}, open)).statusCode, 500);
  });

  test('a redirect is the answer, not followed', async () => {
    const result = await postJson(`${base}/moved`, '{}', {}, open);
    assert.equal(result.statusCode, 302);
  });

  test('no answer: refused connection, timeout', async () => {
    const refused = await postJson(`http://127.0.0.1:${await freePort()}/`, '{}', {}, open);
    assert.deepEqual([refused.statusCode, refused.error], [null, 'connection refused (ECONNREFUSED)']);
    const slow = await postJson(`${base}/hang`, '{}', {}, { ...open, timeoutMs: 200 });
    assert.deepEqual([slow.statusCode, slow.error], [null, 'no answer within 0.2 s']);
  });

  test('unless allowed, a private address is refused before connecting, by address or by name', async () => {
    const strict = { ...open, allowPrivate: false };
    const count = bodies.length;
    const literal = await postJson(`${base}/ok`, '{}', {}, strict);
    assert.equal(literal.statusCode, null);
    assert.match(literal.error ?? '', /127\.0\.0\.1 is a loopback address/);
    const port = new URL(base).port;
    const named = await postJson(`http://localhost:${port}/ok`, '{}', {}, strict);
    assert.equal(named.statusCode, null);
    assert.match(named.error ?? '', /localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
    assert.equal(bodies.length, count, 'nothing reached the server');
  });
});
