import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { type PodView, querySubject, type RequestMeta } from '@agentpod/contracts';
import { createLogger, EventStore, ensureStreams } from '@agentpod/kit';
import fastifyWebsocket from '@fastify/websocket';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveOptions } from '../options.ts';
import { type FakeWorld, startFakeWorld } from '../test-support/fake-services.ts';
import { podView } from '../test-support/pod-fixtures.ts';
import { consoleRoutes } from './plugin.ts';

/*
 * The console as the gateway serves it: files of a build directory with their caching, the app's shell for
 * console routes (never for the gateway's own paths), and the live socket: refused before the upgrade for a
 * foreign Origin or without a session, and pushing pod views, filtered to the user's tenants, once open.
 */

const SHELL = '<!doctype html><html><head></head><body><div><script>start()</script></div></body></html>';

describe('the console files: hashed assets cached for good, the shell for console routes only', () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentpod-console-'));
    await mkdir(join(dir, '_app/immutable/entry'), { recursive: true });
    await writeFile(join(dir, 'index.html'), SHELL);
    await writeFile(join(dir, '_app/immutable/entry/start.abc123.js'), 'export const x = 1;\n'.repeat(50));
    await writeFile(join(dir, '_app/immutable/entry/start.abc123.js.gz'), gzipSync('export const x = 1;\n'.repeat(50)));
    await writeFile(join(dir, '_app/version.json'), '{"version":"1"}');
    await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, '..secret'), 'no');
    app = Fastify();
    app.register(fastifyWebsocket);
    // Nothing of NATS is touched by file requests; the live socket gets its own tests against a whole gateway.
    app.register(
      consoleRoutes({
        nc: undefined as never,
        logger: createLogger('test', 'silent'),
        options: resolveOptions(),
        https: false,
        streams: new Set(),
        consoleDir: dir,
      }),
    );
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  test('a hashed asset is immutable for a year, and gzip-encoded for a browser that takes it', async () => {
    const plain = await get('/_app/immutable/entry/start.abc123.js');
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(plain.headers['content-type']), /javascript/);
    const gzipped = await get('/_app/immutable/entry/start.abc123.js', { 'accept-encoding': 'gzip' });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.ok(gzipped.rawPayload.length < plain.rawPayload.length);
  });

  test('other files revalidate; the shell answers console routes with its own CSP pinning its inline script', async () => {
    assert.equal((await get('/_app/version.json')).headers['cache-control'], 'no-cache');
    assert.equal((await get('/favicon.svg')).statusCode, 200);
    for (const path of ['/', '/pods', '/pods/acme/web', '/nodes?x=1']) {
      const shell = await get(path);
      assert.equal(shell.statusCode, 200, path);
      assert.equal(shell.body, SHELL);
      assert.equal(shell.headers['cache-control'], 'no-cache');
      const csp = String(shell.headers['content-security-policy']);
      assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      assert.match(csp, /default-src 'none'/);
    }
  });

  test('the gateway’s own paths, missing assets and paths outside the build are 404, never the shell', async () => {
    for (const path of [
      '/api/v1/nope',
      '/api',
      '/agent/x',
      '/auth/other',
      '/invitations/other',
      '/healthz',
      '/pages/other.js',
      '/_app/immutable/entry/gone.js',
      '/robots.txt',
      '/..secret',
    ]) {
      const answer = await get(path);
      assert.equal(answer.statusCode, 404, path);
      assert.notEqual(answer.body, SHELL, path);
    }
  });

  test('a path climbing out of the build directory never reads what is outside it', async () => {
    await writeFile(join(dir, '..', `${basename(dir)}-outside.txt`), 'top-secret-content');
    for (const path of [
      `/../${basename(dir)}-outside.txt`,
      `/%2e%2e/${basename(dir)}-outside.txt`,
      `/_app/%2e%2e/%2e%2e/${basename(dir)}-outside.txt`,
      `/..%2f${basename(dir)}-outside.txt`,
    ]) {
      const answer = await get(path);
      assert.ok(!answer.body.includes('top-secret-content'), path);
      assert.ok([200, 400, 404].includes(answer.statusCode), `${path}: ${answer.statusCode}`);
    }
    await rm(join(dir, '..', `${basename(dir)}-outside.txt`));
  });
});

/** The status the gateway answers an upgrade of the live socket with (101 when it upgrades). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/console/live', url), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

type Message = {
  type: string;
  pods?: PodView[] | null;
  removed?: unknown[];
  event?: { type: string };
  tenants?: string[] | 'all';
};

/** A console's live socket, collecting what it is sent. */
async function openLive(url: string, cookie: string, query = '') {
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/console/live${query}`, {
    headers: { cookie, origin: url },
  } as unknown as string[]);
  socket.onmessage = (event) => {
    messages.push(JSON.parse(String(event.data)) as Message);
    for (const waiter of waiters) waiter();
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error('the live socket did not open'));
  });
  const until = (check: (all: Message[]) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what}: ${JSON.stringify(messages)}`)), 10_000);
      const look = () => {
        if (!check(messages)) return;
        clearTimeout(timer);
        waiters.delete(look);
        resolve();
      };
      waiters.add(look);
      look();
    });
  return { messages, until, close: () => socket.close() };
}

describe('the live socket: Origin and session checked before the upgrade, changes pushed to whoever may see them', () => {
  let world: FakeWorld;
  let listPodsDelayMs = 0;
  let url: string;
  let store: EventStore;
  before(async () => {
    world = await startFakeWorld({ followRecheckMs: 100 });
    url = await world.app.listen({ host: '127.0.0.1', port: 0 });
    const jsm = await jetstreamManager(world.nc);
    await ensureStreams(jsm, ['pods', 'reconciler', 'tenants']);
    store = new EventStore(jetstream(world.nc), jsm);
    await world.answer(querySubject('pods', 'getPod'), (data) => {
      const { tenantId, podId } = data as { tenantId: string; podId: string };
      return { ...podView, tenantId, podId, status: 'running' };
    });
    await world.answer(querySubject('pods', 'listPods'), async (_data, meta) => {
      await sleep(listPodsDelayMs);
      return { pods: meta.principal?.userId.startsWith('usr_owner') ? [podView] : [] };
    });
  });
  after(() => world?.close());

  test('a console that goes while its pods are being read leaves nothing running (no re-checks, no pings)', async () => {
    const cookie = 'agentpod_session=aps_owner_session_0123456789';
    const rechecks = world.nc.subscribe(querySubject('identity', 'authenticate'));
    let asked = 0;
    void (async () => {
      for await (const msg of rechecks) if (msg.string().includes('aps_owner_session')) asked++;
    })();
    listPodsDelayMs = 400;
    try {
      const live = await openLive(url, cookie, '?pods=1');
      await sleep(150); // the session is waiting for the pods (400 ms) by now
      live.close();
      await sleep(700); // the pods answer arrives after the close
      const before = asked;
      await sleep(2_500); // two and a half re-check periods (the live socket checks again every second at most)
      assert.equal(asked, before, 'a closed console is not checked again');
    } finally {
      listPodsDelayMs = 0;
      rechecks.unsubscribe();
    }
  });

  test('a foreign Origin is refused (403) before the upgrade, even with a valid session', async () => {
    const cookie = 'agentpod_session=aps_owner_session_0123456789';
    assert.equal(await upgradeStatus(url, { cookie, origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(url, { cookie }), 403, 'no Origin at all');
    assert.equal(await upgradeStatus(url, { cookie, origin: url }), 101);
  });

  test('no session, an unknown one or an API token is 401 before the upgrade', async () => {
    assert.equal(await upgradeStatus(url, { origin: url }), 401);
    assert.equal(await upgradeStatus(url, { origin: url, cookie: 'agentpod_session=aps_unknown_0123456789' }), 401);
    assert.equal(await upgradeStatus(url, { origin: url, authorization: 'Bearer apt_owner_member_token_01234' }), 401);
  });

  test('ready names the user’s tenants, and with ?pods=1 brings every pod they may see (asked as them)', async () => {
    const plain = await openLive(url, 'agentpod_session=aps_owner_session_0123456789');
    const withPods = await openLive(url, 'agentpod_session=aps_owner_session_0123456789', '?pods=1');
    try {
      await plain.until((all) => all.some((m) => m.type === 'ready'), 'ready');
      await withPods.until((all) => all.some((m) => m.type === 'ready'), 'ready');
      const [first] = plain.messages;
      assert.deepEqual([first?.tenants, first?.pods], [['acme'], null]);
      assert.deepEqual(
        withPods.messages[0]?.pods?.map((pod) => `${pod.tenantId}/${pod.podId}`),
        ['acme/web'],
      );
    } finally {
      plain.close();
      withPods.close();
    }
  });

  test("a pod's change reaches the consoles of its tenant's members as a fresh view, and nobody else's", async () => {
    const owner = await openLive(url, 'agentpod_session=aps_owner_session_0123456789');
    const outsider = await openLive(url, 'agentpod_session=aps_outsider_session_0123456');
    try {
      await owner.until((all) => all.some((m) => m.type === 'ready'), 'ready');
      await outsider.until((all) => all.some((m) => m.type === 'ready'), 'ready');
      const meta: RequestMeta = { actor: { kind: 'system', id: 'test' }, correlationId: 'c1', tenantId: 'acme' };
      const aggregate = 'pod_acme_web';
      await store.append('reconciler', aggregate, [{ type: 'PodActionSucceeded', data: { n: 1 } }], {
        expected: { version: 0, seq: await store.lastSequence('reconciler', aggregate) },
        meta,
        now: new Date(),
      });
      await owner.until(
        (all) => all.some((m) => m.type === 'pods' && m.pods?.some((p) => p.podId === 'web')),
        'pushed view',
      );
      await owner.until((all) => all.some((m) => m.event?.type === 'PodActionSucceeded'), 'the event');
      // The outsider's console heard the same event and was sent nothing about it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(
        outsider.messages.map((m) => m.type),
        ['ready'],
      );
      // The view was asked of the pods service as the owner.
      const asked = world.received.filter((r) => r.subject === querySubject('pods', 'getPod'));
      assert.ok(asked.length > 0);
      assert.ok(asked.every((r) => r.meta.principal?.userId.startsWith('usr_owner')));
    } finally {
      owner.close();
      outsider.close();
    }
  });
});
