import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FILE_CHUNK_BYTES, TERMINAL_CHUNK_BYTES, type TerminalOutput } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { DownloadSession } from './file-download.ts';
import { CreditWindow, PauseGate } from './flow.ts';
import { SessionRegistry, type WorkspaceSession } from './sessions.ts';
import type { TerminalExit, TerminalProcess } from './terminal-process.ts';
import { TerminalSession } from './terminal-session.ts';

const logger = createLogger('flow-test', 'silent');
const turn = () => new Promise((resolve) => setImmediate(resolve));
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await turn();
}

describe('CreditWindow and PauseGate', () => {
  test('open while no more than the window is unacknowledged; acks are cumulative, capped, never backwards', () => {
    const credit = new CreditWindow(100);
    credit.onSent(100);
    assert.equal(credit.open, true);
    credit.onSent(1);
    assert.equal(credit.open, false);
    credit.onAck(1);
    assert.equal(credit.open, true);
    credit.onAck(0); // reordered: changes nothing
    assert.equal(credit.acked, 1);
    credit.onAck(10_000); // more than was sent buys no credit ahead
    assert.equal(credit.acked, 101);
    credit.onSent(101);
    assert.equal(credit.open, false);
  });

  test('the gate pauses once for any number of reasons and resumes when the last is released', () => {
    const calls: string[] = [];
    const gate = new PauseGate({ pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    gate.hold('credit');
    gate.hold('socket');
    gate.hold('credit');
    gate.release('credit');
    assert.deepEqual(calls, ['pause']);
    gate.release('socket');
    gate.release('socket');
    assert.deepEqual(calls, ['pause', 'resume']);
  });
});

function fakeProcess() {
  let exit: (value: TerminalExit) => void = () => {};
  const calls = { pause: 0, resume: 0, writes: [] as string[], sizes: [] as string[], ended: 0 };
  let paused = false;
  const process: TerminalProcess & { paused: () => boolean } = {
    pid: 4242,
    exited: new Promise((resolve) => {
      exit = resolve;
    }),
    write: (bytes) => calls.writes.push(bytes.toString()),
    endInput: () => calls.ended++,
    resize: ({ cols, rows }) => calls.sizes.push(`${cols}x${rows}`),
    pause: () => {
      calls.pause++;
      paused = true;
    },
    resume: () => {
      calls.resume++;
      paused = false;
    },
    dispose: () => {},
    paused: () => paused,
  };
  return { process, calls, exit: (value: TerminalExit) => exit(value) };
}

function terminal(options: { window: number; writable?: () => Promise<boolean> }) {
  const published: { message: TerminalOutput; durable: boolean }[] = [];
  const terminated: { pid: number | null; graceMs: number }[] = [];
  let ended = 0;
  const session = new TerminalSession('term-test-1', {
    publish: (message, durable) => published.push({ message, durable }),
    writable: options.writable ?? (async () => true),
    terminator: {
      terminate: async (pid, graceMs) => {
        terminated.push({ pid, graceMs });
      },
    },
    logger,
    window: options.window,
    onEnded: () => ended++,
  });
  const fake = fakeProcess();
  session.attach(fake.process);
  const outBytes = () =>
    published
      .map((p) => p.message)
      .filter((m): m is Extract<TerminalOutput, { t: 'out' }> => m.t === 'out')
      .reduce((sum, m) => sum + Buffer.from(m.data, 'base64').length, 0);
  return { session, fake, published, terminated, outBytes, ended: () => ended };
}

describe('TerminalSession flow control', () => {
  test('output waits for the reply, then pauses the process while more than the window is unacknowledged', async () => {
    const t = terminal({ window: 64 * 1024 });
    t.session.output(Buffer.alloc(10, 1), 'stdout');
    assert.equal(t.published.length, 0, 'nothing before the reply went out');
    assert.equal(t.fake.process.paused(), true);
    await until(() => !t.fake.process.paused());
    assert.equal(t.outBytes(), 10);

    t.session.output(Buffer.alloc(100 * 1024, 2), 'stdout');
    assert.equal(t.fake.process.paused(), true, 'paused: 100 KiB unacknowledged > 64 KiB');
    const pieces = t.published.slice(1).map((p) => Buffer.from((p.message as { data: string }).data, 'base64').length);
    assert.ok(pieces.every((size) => size <= TERMINAL_CHUNK_BYTES));
    assert.equal(t.outBytes(), 10 + 100 * 1024);
    await turn();
    assert.equal(t.fake.process.paused(), true, 'still paused: the socket is fine, the credit is not');

    t.session.input(JSON.stringify({ t: 'ack', bytes: 10 + 30 * 1024 }));
    assert.equal(t.fake.process.paused(), true, '70 KiB still out: over the window');
    t.session.input(JSON.stringify({ t: 'ack', bytes: 10 + 40 * 1024 }));
    assert.equal(t.fake.process.paused(), false, 'resumed at 60 KiB out');
  });

  test('a backed-up socket pauses the process until it drains', async () => {
    let drained: (value: boolean) => void = () => {};
    const t = terminal({ window: 1 << 20, writable: () => new Promise((resolve) => (drained = resolve)) });
    await turn();
    t.session.output(Buffer.from('x'), 'stdout');
    assert.equal(t.fake.process.paused(), true);
    drained(true);
    await until(() => !t.fake.process.paused());
  });

  test('input, resize and eof reach the process; malformed messages are ignored', async () => {
    const t = terminal({ window: 1024 });
    t.session.input(JSON.stringify({ t: 'in', data: Buffer.from('ls\n').toString('base64') }));
    t.session.input(JSON.stringify({ t: 'resize', cols: 120, rows: 40 }));
    t.session.input(JSON.stringify({ t: 'eof' }));
    t.session.input('{not json');
    t.session.input(JSON.stringify({ t: 'resize', cols: 0, rows: 40 }));
    assert.deepEqual(t.fake.calls.writes, ['ls\n']);
    assert.deepEqual(t.fake.calls.sizes, ['120x40']);
    assert.equal(t.fake.calls.ended, 1);
  });

  test('exactly one exit, durable, after the output; close terminates with the 2 s grace', async () => {
    const t = terminal({ window: 1024 });
    t.session.output(Buffer.from('bye'), 'stderr');
    t.session.input(JSON.stringify({ t: 'close' }));
    t.session.input(JSON.stringify({ t: 'close' }));
    assert.deepEqual(t.terminated, [{ pid: 4242, graceMs: 2_000 }]);
    t.fake.exit({ code: null, signal: 'SIGHUP' });
    await until(() => t.ended() === 1);
    const exits = t.published.filter((p) => p.message.t === 'exit');
    assert.deepEqual(exits, [{ message: { t: 'exit', code: null, signal: 'SIGHUP' }, durable: true }]);
    assert.equal(t.published.at(-1)?.message.t, 'exit');
    t.session.end('dropped');
    assert.equal(t.terminated.length, 1, 'an ended session is not signalled again');
  });

  test('a silent session says timeout, then is terminated', async () => {
    const t = terminal({ window: 1024 });
    t.session.end('expired');
    assert.deepEqual(t.published[0]?.message, {
      t: 'error',
      error: { code: 'timeout', message: 'the terminal session heard nothing from the control plane; ended' },
    });
    assert.equal(t.terminated.length, 1);
  });
});

describe('DownloadSession flow control', () => {
  test('sends no more than the window before an ack, then the rest, then end', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentpod-flow-'));
    try {
      const size = 5 * FILE_CHUNK_BYTES + 7;
      await writeFile(join(dir, 'f'), Buffer.alloc(size, 7));
      const file = await open(join(dir, 'f'));
      const published: { t: string; data?: string }[] = [];
      let ended = false;
      const session = new DownloadSession('down-test-1', file, size, {
        publish: (message) => published.push(message as { t: string; data?: string }),
        writable: async () => true,
        logger,
        onEnded: () => (ended = true),
        window: 2 * FILE_CHUNK_BYTES,
      });
      session.start();
      const bytes = () => published.reduce((sum, m) => sum + (m.data ? Buffer.from(m.data, 'base64').length : 0), 0);
      // File reads take their time on a loaded machine: wait for the window to fill, then give it room to overrun.
      await until(() => bytes() >= 2 * FILE_CHUNK_BYTES);
      for (let i = 0; i < 20; i++) await turn();
      assert.equal(bytes(), 2 * FILE_CHUNK_BYTES, 'a window out, no more, before any ack');
      while (!ended) {
        session.input(JSON.stringify({ t: 'ack', bytes: bytes() }));
        await turn();
      }
      assert.equal(bytes(), size);
      assert.equal(published.at(-1)?.t, 'end');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SessionRegistry', () => {
  test('a session silent for 3 keepalives ends as expired; a keepalive keeps it; the socket drop ends all', () => {
    let now = 0;
    const registry = new SessionRegistry({ logger, keepaliveMs: 1000, now: () => now });
    const endings: string[] = [];
    const session = (name: string): WorkspaceSession => ({
      kind: 'terminal',
      input: () => {},
      end: (reason) => endings.push(`${name}:${reason}`),
    });
    registry.add('aaaaaaaa', session('a'));
    registry.add('bbbbbbbb', session('b'));
    now = 2_500;
    assert.equal(registry.deliver('bbbbbbbb', '{"t":"keepalive"}'), true);
    assert.equal(registry.deliver('cccccccc', '{}'), false, 'not a workspace session');
    now = 3_100;
    registry.sweep();
    assert.deepEqual(endings, ['a:expired']);
    registry.closeAll();
    assert.deepEqual(endings, ['a:expired', 'a:dropped', 'b:dropped']);
    registry.stop();
  });
});
