import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { TERMINAL_CHUNK_BYTES, TERMINAL_CLOSE, TERMINAL_WINDOW_BYTES } from '@agentpod/contracts';
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws';
import { ACK_BATCH_BYTES } from './ack.ts';
import { type TerminalConnection as Connection, TerminalConnection, type TerminalEnd } from './terminal-connection.ts';

/*
 * The console's terminal socket against a real WebSocket server playing the gateway (Node's WebSocket is the
 * browser's interface): the protocol's messages, the credit window flowing under a slow terminal, and what the
 * user is told when the terminal ends or is refused.
 */

type Script = (socket: ServerSocket, received: Received) => void;
type Received = { texts: unknown[]; binaries: Buffer[]; next: () => Promise<unknown> };

let server: Server;
let base: string;
const scripts = new Map<string, Script>();
const sockets = new WebSocketServer({ noServer: true });

before(async () => {
  server = createServer((request, response) => {
    // A plain GET of a refused terminal: the API's JSON error, as the gateway answers before an upgrade.
    if (request.url === '/refused') {
      response.writeHead(403, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'forbidden', message: 'viewers cannot open terminals' } }));
      return;
    }
    response.writeHead(404).end();
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const script = scripts.get(request.url ?? '');
    if (!script) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n\r\n{"error":{}}');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => {
      const waiting: ((value: unknown) => void)[] = [];
      const queue: unknown[] = [];
      const received: Received = {
        texts: [],
        binaries: [],
        next: () =>
          queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)),
      };
      ws.on('message', (data: Buffer, binary: boolean) => {
        if (binary) {
          received.binaries.push(data);
          return;
        }
        const message = JSON.parse(data.toString()) as unknown;
        received.texts.push(message);
        const resolve = waiting.shift();
        if (resolve) resolve(message);
        else queue.push(message);
      });
      script(ws, received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const client of sockets.clients) client.terminate();
  sockets.close();
  await new Promise((resolve) => server.close(resolve));
});

/** A terminal that collects what it is given, consuming each write after `delay` (a terminal busy rendering). */
function sink(delay: (done: () => void) => void = (done) => done()) {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    text: () => Buffer.concat(chunks).toString(),
    write(data: Uint8Array, done: () => void) {
      chunks.push(Uint8Array.from(data));
      delay(done);
    },
  };
}

function open(path: string, script: Script, terminal = sink()) {
  scripts.set(path, script);
  let ready: (id: string) => void = () => undefined;
  let ended: (end: TerminalEnd) => void = () => undefined;
  const readyP = new Promise<string>((resolve) => (ready = resolve));
  const endP = new Promise<TerminalEnd>((resolve) => (ended = resolve));
  const connection: Connection = new TerminalConnection({
    url: `${base}${path}`,
    size: { cols: 80, rows: 24 },
    sink: terminal,
    events: { onReady: ready, onEnd: ended },
  });
  return { connection, terminal, ready: readyP, ended: endP };
}

const frame = (stream: number, bytes: Uint8Array | string) =>
  Buffer.concat([Buffer.from([stream]), Buffer.from(bytes)]);

describe('the terminal socket', () => {
  test('start with the size, ready, keystrokes as binary frames, resizes only when the size changed', async () => {
    let gateway: Received | undefined;
    const { connection, terminal, ready } = open('/protocol', (ws, received) => {
      gateway = received;
      void received.next().then(() => {
        ws.send(JSON.stringify({ t: 'ready', sessionId: 'abcdefgh12345678' }));
        ws.send(frame(1, 'hello '));
        ws.send(frame(2, 'from stderr'));
        ws.send(frame(7, 'not a stream: ignored'));
      });
    });
    try {
      assert.equal(await ready, 'abcdefgh12345678');
      assert.deepEqual(gateway?.texts[0], { t: 'start', cols: 80, rows: 24, tty: true });
      assert.equal(connection.input('ls -la\r'), true);
      connection.resize({ cols: 80, rows: 24 });
      connection.resize({ cols: 120, rows: 40 });
      assert.deepEqual(await gateway?.next(), { t: 'resize', cols: 120, rows: 40 });
      while (terminal.text() !== 'hello from stderr') await new Promise((resolve) => setTimeout(resolve, 10));
      while ((gateway?.binaries.length ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(gateway?.binaries[0]?.toString(), 'ls -la\r');
      assert.deepEqual(await gateway?.next(), { t: 'ack', bytes: 'hello from stderr'.length }, 'the idle ack');
    } finally {
      connection.close();
    }
  });

  test('2 MiB through a slow terminal: the credit window keeps flowing and every byte arrives in order', async () => {
    const total = 2 * 1024 * 1024;
    const content = randomBytes(total);
    let acks = 0;
    let maxUnacked = 0;
    const { connection, terminal, ended } = open(
      '/flow',
      (ws, received) => {
        // The agent's side of the window: never more than TERMINAL_WINDOW_BYTES unacknowledged.
        let sent = 0;
        let acked = 0;
        const pump = () => {
          while (sent < total && sent - acked < TERMINAL_WINDOW_BYTES) {
            const chunk = content.subarray(sent, sent + TERMINAL_CHUNK_BYTES);
            ws.send(frame(1, chunk));
            sent += chunk.length;
            maxUnacked = Math.max(maxUnacked, sent - acked);
          }
        };
        void (async () => {
          await received.next(); // start
          ws.send(JSON.stringify({ t: 'ready', sessionId: 'flowflowflow' }));
          pump();
          while (acked < total) {
            const message = (await received.next()) as { t: string; bytes: number };
            assert.equal(message.t, 'ack');
            assert.ok(message.bytes > acked && message.bytes <= sent, 'acks are cumulative and never ahead');
            acked = message.bytes;
            acks += 1;
            pump();
          }
          ws.send(JSON.stringify({ t: 'exit', code: 0 }));
          ws.close(TERMINAL_CLOSE.exited);
        })();
      },
      sink((done) => setTimeout(done, 1)),
    );
    try {
      const end = await ended;
      assert.equal(end.explanation, 'The shell exited.');
      const got = Buffer.concat(terminal.chunks);
      assert.equal(got.length, total);
      assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(content).digest('hex'));
      assert.ok(maxUnacked >= TERMINAL_WINDOW_BYTES, 'the window filled: the sender had to wait for acks');
      assert.ok(maxUnacked <= TERMINAL_WINDOW_BYTES + TERMINAL_CHUNK_BYTES);
      assert.ok(acks <= total / ACK_BATCH_BYTES + 8, `${acks} acks for ${total / ACK_BATCH_BYTES} batches`);
    } finally {
      connection.close();
    }
  });

  test('the end says why: exit code, access lost, idle, agent gone', async () => {
    const cases: [string, number, unknown[], RegExp][] = [
      ['/exit', TERMINAL_CLOSE.exited, [{ t: 'exit', code: 3 }], /exited with code 3/],
      ['/signal', TERMINAL_CLOSE.exited, [{ t: 'exit', code: null, signal: 'SIGKILL' }], /ended by SIGKILL/],
      [
        '/lost',
        TERMINAL_CLOSE.accessLost,
        [{ t: 'error', error: { code: 'forbidden', message: 'removed from acme' } }],
        /access to this terminal ended.*removed from acme/,
      ],
      ['/idle', TERMINAL_CLOSE.idle, [], /without input or output/],
      [
        '/gone',
        TERMINAL_CLOSE.agentGone,
        [{ t: 'error', error: { code: 'unavailable', message: 'node n1 disconnected' } }],
        /agent ended the session.*node n1 disconnected/,
      ],
    ];
    for (const [path, code, messages, expected] of cases) {
      const { ended } = open(path, (ws, received) => {
        void received.next().then(() => {
          for (const message of messages) ws.send(JSON.stringify(message));
          ws.close(code);
        });
      });
      const end = await ended;
      assert.equal(end.code, code, path);
      assert.equal(end.opened, true);
      assert.match(end.explanation, expected, path);
    }
  });

  test('refused before the upgrade: the API error of the same path tells why', async () => {
    let connection: Connection | undefined;
    const end = await new Promise<TerminalEnd>((resolve) => {
      connection = new TerminalConnection({
        url: `${base}/refused`,
        size: { cols: 80, rows: 24 },
        sink: sink(),
        events: { onEnd: resolve },
      });
    });
    assert.equal(end.opened, false);
    assert.equal(end.explanation, 'Could not open the terminal: viewers cannot open terminals');
    assert.equal(connection?.input('x'), false, 'no input once ended');
  });
});
