import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AppError, querySubject, TERMINAL_WINDOW_BYTES } from '@agentpod/contracts';
import { tryUpgrade } from '../agent-socket/test-agent.ts';
import { USERS } from '../test-support/fake-services.ts';
import { NODE_ID } from '../test-support/pod-fixtures.ts';
import { defaultWorkspaceOptions } from './settings.ts';
import {
  browser,
  MEMBER_TOKEN,
  startWorkspaceWorld,
  TerminalClient,
  type WorkspaceWorld,
  waitFor,
} from './test-world.testing.ts';

/*
 * The terminal WebSocket through the gateway to a stand-in agent on real NATS: the protocol (start, ready, bytes
 * both ways, resize, ack, exit), every refusal before the upgrade, access lost mid-session, flow control, and the
 * ends (idle, malformed frames, shutdown, an unreachable node).
 */

const POD = '/api/v1/tenants/acme/pods/web/terminal';
const NODE = `/api/v1/nodes/${NODE_ID}/terminal`;

describe('terminal WebSocket: relayed to the agent over session subjects', () => {
  let world: WorkspaceWorld;
  let ws: string;
  let origin: string;
  const open = (path: string, headers: Record<string, string> = { ...browser('member'), origin }) =>
    TerminalClient.open(`${ws}${path}`, headers);
  const recordOf = (sessionId: string) => world.agent.terminals.find((t) => t.sessionId === sessionId);

  before(async () => {
    world = await startWorkspaceWorld({ recheckMs: 150, keepaliveMs: 100 });
    origin = world.address;
    ws = world.address.replace(/^http/, 'ws');
  });
  after(async () => {
    await world?.close();
  });

  test('echo: bytes typed come back as stdout frames; the agent hears the start size and keepalives', async () => {
    const client = await open(POD);
    try {
      const sessionId = await client.start({ cols: 120, rows: 40 });
      assert.match(sessionId, /^[A-Za-z0-9_-]{22}$/);
      client.send(new TextEncoder().encode('hello terminal\n'));
      await waitFor(() => client.output() === 'hello terminal\n', 'the echo');
      const record = recordOf(sessionId);
      assert.deepEqual(record?.command, ['cat']);
      assert.deepEqual(record?.sizes[0], { cols: 120, rows: 40 });
      await waitFor(() => (record?.keepalives ?? 0) > 0, 'a keepalive');

      client.send({ t: 'resize', cols: 100, rows: 30 });
      await waitFor(() => record?.sizes.length === 2, 'the resize');
      assert.deepEqual(record?.sizes[1], { cols: 100, rows: 30 });

      client.send({ t: 'ack', bytes: 15 });
      await waitFor(() => record?.acked === 15, 'the ack');
      client.socket.close(1000);
      await waitFor(() => record?.closed === true, 'the agent told to close');
    } finally {
      client.socket.close();
    }
  });

  test('a command: its exit code, then close 1000; stderr frames start with byte 2', async () => {
    const client = await open(POD, { authorization: `Bearer ${MEMBER_TOKEN}` });
    await client.start({ command: ['sh', '-c', 'echo out; echo err >&2; exit 3'], tty: false });
    const closed = await client.closed;
    assert.equal(closed.code, 1000);
    assert.deepEqual(client.messages.at(-1), { t: 'exit', code: 3 });
    assert.equal(client.output(), 'out\n');
    assert.equal(Buffer.concat(client.stderr).toString(), 'err\n');
  });

  test('eof ends the input of a command reading stdin', async () => {
    const client = await open(POD);
    await client.start({ command: ['wc', '-c'], tty: false });
    client.send(new Uint8Array(70_000));
    client.send({ t: 'eof' });
    await client.closed;
    assert.equal(client.output().trim(), '70000', 'input over one chunk arrives whole, in order');
  });

  test('refused before the upgrade, with the API error and no socket', async () => {
    const url = `${ws}${POD}`;
    const cases: [string, string, Record<string, string>, number][] = [
      ['cookie without Origin', POD, browser('member'), 403],
      ['cookie with a foreign Origin', POD, { ...browser('member'), origin: 'https://evil.example' }, 403],
      [
        'Bearer with a foreign Origin',
        POD,
        { authorization: `Bearer ${MEMBER_TOKEN}`, origin: 'https://evil.example' },
        403,
      ],
      ['no credential', POD, { origin }, 401],
      ['a bad cookie', POD, { cookie: 'agentpod_session=aps_nobody_session_00000000', origin }, 401],
      ['credential in the query', `${POD}?token=${MEMBER_TOKEN}`, { origin }, 400],
      ['credential in the query with a cookie', `${POD}?access_token=x`, { ...browser('member'), origin }, 400],
      ['viewer', POD, { ...browser('viewer'), origin }, 403],
      ['member of another tenant', POD, { ...browser('outsider'), origin }, 404],
      ['another tenant’s pod', '/api/v1/tenants/other/pods/web/terminal', { ...browser('member'), origin }, 404],
      ['a member on the node', NODE, { ...browser('member'), origin }, 403],
      ['a member of another tenant on the node', NODE, { ...browser('outsider'), origin }, 404],
      [
        'a pod with no running container',
        '/api/v1/tenants/acme/pods/stopped/terminal',
        { ...browser('member'), origin },
        503,
      ],
      ['a bad pod name', '/api/v1/tenants/acme/pods/NOT_A_SLUG/terminal', { ...browser('member'), origin }, 400],
    ];
    for (const [what, path, headers, status] of cases) {
      const answer = await tryUpgrade(`${ws}${path}`, headers);
      assert.equal(answer.status, status, what);
      const body = answer.body as { error: { code: string; message: string } };
      assert.ok(body.error.code, what);
      if (status === 503) assert.match(body.error.message, /no running container/);
    }
    const plain = await world.app.inject({ method: 'GET', url: POD, headers: browser('member') });
    assert.equal(plain.statusCode, 400, 'not an upgrade');
    assert.ok((await tryUpgrade(url, { ...browser('member'), origin })).status === 101);
  });

  test('the node terminal: a platform admin and the owner of the node’s tenant', async () => {
    for (const who of ['admin', 'owner'] as const) {
      const client = await open(NODE, { ...browser(who), origin });
      const sessionId = await client.start();
      client.send(new TextEncoder().encode('on the node\n'));
      await waitFor(() => client.output() === 'on the node\n', `${who}'s echo`);
      client.socket.close();
      await waitFor(() => recordOf(sessionId)?.closed === true, 'the close');
    }
  });

  test('removed from the tenant, or signed out: the open terminal closes with 4403', async () => {
    const removed = await open(POD);
    const removedSession = await removed.start();
    world.removed.add(USERS.member);
    try {
      const closed = await removed.closed;
      assert.equal(closed.code, 4403);
      const last = removed.messages.at(-1);
      assert.equal(last?.t === 'error' && last.error.code, 'not_found');
      await waitFor(() => recordOf(removedSession)?.closed === true, 'the agent told to close');
    } finally {
      world.removed.delete(USERS.member);
    }

    const signedOut = await open(POD);
    await signedOut.start();
    await world.answer(querySubject('identity', 'authenticate'), () => {
      throw new AppError('unauthenticated', 'the session ended');
    });
    try {
      assert.equal((await signedOut.closed).code, 4403);
      const last = signedOut.messages.at(-1);
      assert.equal(last?.t === 'error' && last.error.code, 'unauthenticated');
    } finally {
      await world.restoreIdentity();
    }
  });

  test('malformed frames: protocol error then 4400', async () => {
    const early = await open(POD);
    early.send(new Uint8Array([1, 2, 3]));
    assert.equal((await early.closed).code, 4400, 'bytes before start');

    const garbage = await open(POD);
    const sessionId = await garbage.start();
    garbage.send('{"t":"resize","cols":0,"rows":-1}');
    assert.equal((await garbage.closed).code, 4400);
    assert.equal(garbage.messages.at(-1)?.t, 'error');
    await waitFor(() => recordOf(sessionId)?.closed === true, 'the agent told to close');

    const twice = await open(POD);
    await twice.start();
    twice.send({ t: 'start', cols: 80, rows: 24 });
    assert.equal((await twice.closed).code, 4400, 'a second start');
  });

  test('a client that never acknowledges: the agent stops at the window and nothing more is relayed', async () => {
    const client = await open(POD);
    const sessionId = await client.start({ command: ['yes', 'flow control'], tty: false });
    const record = recordOf(sessionId);
    assert.ok(record);
    await waitFor(() => record.sent === TERMINAL_WINDOW_BYTES, 'a window of output');
    await waitFor(() => client.bytesReceived() === record.sent, 'everything sent relayed');
    // Nothing acknowledged: the agent is paused; a while later it still has not sent more than a window and a chunk.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(record.sent <= TERMINAL_WINDOW_BYTES, `sent ${record.sent}`);
    assert.equal(client.bytesReceived(), record.sent);

    client.send({ t: 'ack', bytes: client.bytesReceived() });
    await waitFor(() => record.sent === 2 * TERMINAL_WINDOW_BYTES, 'a second window after the ack');
    client.socket.close();
    await waitFor(() => record.closed, 'the close');
    assert.ok(record.maxUnacked <= TERMINAL_WINDOW_BYTES, `${record.maxUnacked}`);
  });

  test('a client that acknowledges what it does not read is cut off (its socket buffer is bounded)', async () => {
    const before = world.agent.terminals.length;
    const socket = await rawTerminal(world.address, POD, { ...browser('member'), origin });
    try {
      socket.write(maskedText(JSON.stringify({ t: 'start', cols: 80, rows: 24, command: ['yes'], tty: false })));
      await waitFor(() => world.agent.terminals.length > before, 'the terminal');
      const record = world.agent.terminals.at(-1);
      // Acknowledges far more than it got, then stops reading its socket.
      socket.write(maskedText(JSON.stringify({ t: 'ack', bytes: Number.MAX_SAFE_INTEGER })));
      socket.pause();
      await waitFor(() => record?.closed === true, 'the gateway ending the session', 30_000);
      // What the gateway buffered is still readable: output, then the error saying why, then the close frame.
      let tail = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        tail = Buffer.concat([tail, chunk]).subarray(-400);
      });
      socket.resume();
      await waitFor(() => hasCloseFrame(tail, 4400), 'the close frame');
      assert.match(tail.toString('latin1'), /acknowledges output it does not read/);
    } finally {
      socket.destroy();
    }
  });

  test('no start in time: 4400; no input or output for the idle time: 4408', async () => {
    const quick = world.gateway({
      workspace: { ...defaultWorkspaceOptions(), startTimeoutMs: 200, terminalIdleMs: 400 },
    });
    const address = (await quick.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
    try {
      const silent = await TerminalClient.open(`${address}${POD}`, {
        ...browser('member'),
        origin: address.replace(/^ws/, 'http'),
      });
      assert.equal((await silent.closed).code, 4400);
      const idle = await TerminalClient.open(`${address}${POD}`, {
        ...browser('member'),
        origin: address.replace(/^ws/, 'http'),
      });
      const sessionId = await idle.start();
      assert.equal((await idle.closed).code, 4408);
      await waitFor(() => recordOf(sessionId)?.closed === true, 'the agent told to close');
    } finally {
      await quick.close();
    }
  });

  test('gateway shutdown closes open terminals with 1001 and closes their agent sessions', async () => {
    const other = world.gateway({});
    const address = await other.listen({ host: '127.0.0.1', port: 0 });
    const client = await TerminalClient.open(`${address.replace(/^http/, 'ws')}${POD}`, {
      ...browser('member'),
      origin: address,
    });
    const sessionId = await client.start();
    await other.close();
    assert.equal((await client.closed).code, 1001);
    await waitFor(() => recordOf(sessionId)?.closed === true, 'the agent told to close');
  });

  test('the agent cannot open it: an error and 4502 (unreachable node named, or the agent’s own error)', async () => {
    const lost = await open('/api/v1/tenants/acme/pods/lost/terminal');
    lost.send({ t: 'start', cols: 80, rows: 24 });
    assert.equal((await lost.closed).code, 4502);
    const error = lost.messages.at(-1);
    assert.equal(error?.t, 'error');
    assert.match(error?.t === 'error' ? error.error.message : '', /node nod_b2b2\S* is unreachable/);

    const vanished = await open('/api/v1/tenants/acme/pods/vanished/terminal');
    vanished.send({ t: 'start', cols: 80, rows: 24 });
    assert.equal((await vanished.closed).code, 4502);
    const refusal = vanished.messages.at(-1);
    assert.equal(refusal?.t === 'error' && refusal.error.code, 'not_found');
  });
});

/** A raw WebSocket connection: upgraded by hand so the test controls reading (a client that stops reading). */
function rawTerminal(address: string, path: string, headers: Record<string, string>): Promise<Socket> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(url.port), url.hostname, () => {
      const lines = [
        `GET ${path} HTTP/1.1`,
        `host: ${url.host}`,
        'connection: Upgrade',
        'upgrade: websocket',
        'sec-websocket-version: 13',
        `sec-websocket-key: ${randomBytes(16).toString('base64')}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(head.split('\r\n')[0]));
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

/** One masked text frame (clients must mask), for payloads under 64 KiB. */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0xfe, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([header, mask, masked]);
}

/** Whether `bytes` hold an unmasked close frame with this code (0x88, a length under 126, the code). */
function hasCloseFrame(bytes: Buffer, code: number): boolean {
  for (let i = bytes.indexOf(0x88); i >= 0 && i + 3 < bytes.length; i = bytes.indexOf(0x88, i + 1)) {
    if ((bytes[i + 1] ?? 0) < 126 && bytes.readUInt16BE(i + 2) === code) return true;
  }
  return false;
}
