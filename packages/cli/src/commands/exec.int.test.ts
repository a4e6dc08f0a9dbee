import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TERMINAL_CHUNK_BYTES, TERMINAL_CLOSE, TERMINAL_WINDOW_BYTES } from '@agentpod/contracts';
import { spawn as spawnPty } from 'node-pty';
import { runCli, useFakeGateway } from '../test/fake-gateway.ts';
import { serveTerminal, type TerminalPeer } from '../test/fake-terminal.ts';

/*
 * `pod exec` and `node shell` against a stand-in gateway that speaks the terminal WebSocket protocol: what the CLI
 * sends (credential in the header, start, stdin, eof, acks), how it prints output, and which exit code it ends with.
 */

const POD_SOCKET = '/api/v1/tenants/acme/pods/web/terminal';
const NODE_SOCKET = '/api/v1/nodes/edge-1/terminal';
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** The usual gateway: waits for start, says ready, then runs `body`, then reports `code` and closes. */
const session =
  (body: (peer: TerminalPeer) => Promise<void>, code: number | null = 0, signal?: string) =>
  async (peer: TerminalPeer) => {
    await peer.start();
    peer.send({ t: 'ready', sessionId: 'sess_0123456789' });
    await body(peer);
    peer.send(signal ? { t: 'exit', code, signal } : { t: 'exit', code });
    peer.close(TERMINAL_CLOSE.exited);
  };

describe('agentpod pod exec / node shell against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('the remote exit code is the CLI’s; stdout and stderr stay apart without -t; the token rides the header', async () => {
    const served = serveTerminal(
      suite.gateway,
      POD_SOCKET,
      session(async (peer) => {
        peer.output('to stdout\n');
        peer.output('to stderr\n', 'stderr');
      }, 7),
    );
    const result = await cli('pod', 'exec', 'acme/web', '--', 'sh', '-c', 'exit 7');
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout, 'to stdout\n');
    assert.equal(result.stderr, 'to stderr\n');
    const [peer] = served.peers;
    assert.ok(peer);
    assert.equal(peer.request.headers.authorization, 'Bearer apt_test');
    assert.equal(peer.request.url, POD_SOCKET, 'nothing in the URL but the path');
    assert.deepEqual(peer.messages[0], { t: 'start', cols: 80, rows: 24, command: ['sh', '-c', 'exit 7'], tty: false });
    assert.equal(peer.input.length, 0, 'without -i, stdin is not read');
  });

  test('-i forwards stdin as binary frames and its end as eof', async () => {
    const served = serveTerminal(
      suite.gateway,
      POD_SOCKET,
      session(async (peer) => {
        await peer.until(() => peer.messages.some((m) => m.t === 'eof'), 'eof');
        peer.output(peer.input.toString('utf8').toUpperCase());
      }),
    );
    const result = await runCli(['pod', 'exec', '-i', 'acme/web', '--', 'tr', 'a-z', 'A-Z'], {
      env: suite.env,
      stdin: 'hello\nworld\n',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'HELLO\nWORLD\n');
    assert.equal(served.peers[0]?.input.toString('utf8'), 'hello\nworld\n');
  });

  test('output is acknowledged as it is written: a gateway keeping to the window gets all of it through', async () => {
    const total = 3 * 1024 * 1024;
    let sent = 0;
    let mostInFlight = 0;
    serveTerminal(
      suite.gateway,
      POD_SOCKET,
      session(async (peer) => {
        const line = Buffer.alloc(TERMINAL_CHUNK_BYTES, 'x');
        while (sent < total) {
          // The agent's rule: no more than a window unacknowledged.
          await peer.until(() => sent - peer.acked < TERMINAL_WINDOW_BYTES, 'an acknowledgement');
          peer.output(line);
          sent += line.length;
          mostInFlight = Math.max(mostInFlight, sent - peer.acked);
        }
      }),
    );
    const result = await cli('pod', 'exec', 'acme/web', '--', 'cat', '/big');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, total);
    assert.ok(mostInFlight <= TERMINAL_WINDOW_BYTES + TERMINAL_CHUNK_BYTES, `${mostInFlight} in flight`);
  });

  test('-it on a terminal: its size first, a resize follows the window, Ctrl-C is a keystroke for the remote', async () => {
    const served = serveTerminal(
      suite.gateway,
      POD_SOCKET,
      session(async (peer) => {
        peer.output('prompt> ');
        await peer.until(() => peer.messages.some((m) => m.t === 'resize'), 'a resize');
        await peer.until(() => peer.input.includes(0x03), 'Ctrl-C as a byte');
        peer.output('done\r\n');
      }),
    );
    // The CLI on a real terminal (a pty), as a person runs it.
    const terminal = spawnPty(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', MAIN, 'pod', 'exec', '-it', 'acme/web', '--', 'sh'],
      { cols: 100, rows: 30, cwd: REPO, env: { PATH: process.env.PATH ?? '', ...suite.env } },
    );
    let screen = '';
    const exited = new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
    try {
      await new Promise<void>((resolve) =>
        terminal.onData((data) => {
          screen += data;
          if (screen.includes('prompt> ')) resolve();
        }),
      );
      terminal.resize(120, 40);
      terminal.write('\x03');
      assert.equal(await exited, 0, screen);
    } finally {
      terminal.kill();
    }
    const peer = served.peers[0];
    assert.deepEqual(peer?.messages[0], { t: 'start', cols: 100, rows: 30, command: ['sh'], tty: true });
    assert.deepEqual(
      peer?.messages.find((m) => m.t === 'resize'),
      { t: 'resize', cols: 120, rows: 40 },
    );
    assert.match(screen, /done/);
  });

  test('a command killed by a signal exits 128+N', async () => {
    serveTerminal(
      suite.gateway,
      POD_SOCKET,
      session(async () => {}, null, 'SIGKILL'),
    );
    const result = await cli('pod', 'exec', 'acme/web', '--', 'sleep', '100');
    assert.equal(result.code, 137, result.stderr);
  });

  test('refusals before the upgrade are the API’s errors with the CLI’s exit codes', async () => {
    const refuse = (status: number, code: string, message: string) =>
      suite.gateway.onUpgrade(POD_SOCKET, (_request, socket) => {
        const body = JSON.stringify({ error: { code, message } });
        socket.end(
          `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
      });
    refuse(404, 'not_found', 'no pod acme/web');
    let result = await cli('pod', 'exec', 'acme/web', '--', 'true');
    assert.equal(result.code, 4);
    assert.equal(result.stderr, 'agentpod: no pod acme/web\n');
    refuse(403, 'forbidden', 'viewers cannot open a terminal');
    result = await cli('pod', 'exec', 'acme/web', '--', 'true');
    assert.equal(result.code, 4);
    assert.match(result.stderr, /viewers cannot open a terminal/);
    refuse(503, 'unavailable', 'node edge-1 is unreachable');
    result = await cli('pod', 'exec', 'acme/web', '--json', '--', 'true');
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), {
      error: { code: 'unavailable', message: 'node edge-1 is unreachable' },
    });
  });

  test('an error during the session, and a close for lost access, end the CLI with a clear message', async () => {
    serveTerminal(suite.gateway, POD_SOCKET, async (peer) => {
      await peer.start();
      peer.send({ t: 'error', error: { code: 'unavailable', message: 'the agent of node edge-1 went away' } });
      peer.close(TERMINAL_CLOSE.agentGone);
    });
    let result = await cli('pod', 'exec', 'acme/web');
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'agentpod: the agent of node edge-1 went away\n');

    serveTerminal(suite.gateway, POD_SOCKET, async (peer) => {
      await peer.start();
      peer.send({ t: 'ready', sessionId: 'sess_0123456789' });
      peer.close(TERMINAL_CLOSE.accessLost);
    });
    result = await cli('pod', 'exec', 'acme/web', '--', 'sh');
    assert.equal(result.code, 4);
    assert.match(result.stderr, /your access to it ended/);
  });

  test('node shell opens a terminal on the node: a tty with the keyboard forwarded', async () => {
    const served = serveTerminal(
      suite.gateway,
      NODE_SOCKET,
      session(async (peer) => {
        await peer.until(() => peer.input.toString().includes('exit\n'), 'typed input');
        peer.output('bye\r\n');
      }),
    );
    const result = await runCli(['node', 'shell', 'edge-1'], { env: suite.env, stdin: 'exit\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'bye\r\n');
    const start = served.peers[0]?.messages[0];
    assert.deepEqual(start, { t: 'start', cols: 80, rows: 24, tty: true });
  });

  test('bad arguments and a missing credential fail before anything is sent', async () => {
    let result = await cli('pod', 'exec', 'not-a-ref', '--', 'true');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /<tenant>\/<pod>/);
    result = await runCli(['pod', 'exec', 'acme/web', '--', 'true'], {
      env: { HOME: suite.env.HOME ?? '', AGENTPOD_URL: suite.gateway.url },
    });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /not signed in/);
    assert.deepEqual(suite.gateway.requests, []);
  });
});
