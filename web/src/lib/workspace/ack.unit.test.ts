import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TERMINAL_CHUNK_BYTES, TERMINAL_WINDOW_BYTES } from '@agentpod/contracts';
import { ACK_BATCH_BYTES, AckCounter } from './ack.ts';

describe('the console acknowledges terminal output as xterm consumes it', () => {
  test('a quiet echo is acknowledged soon after, not at once (no ack per keystroke)', () => {
    const acks = new AckCounter();
    acks.receive(1);
    assert.equal(acks.consume(1), 'soon');
    assert.equal(acks.take(), 1);
    assert.equal(acks.take(), undefined, 'nothing new: nothing to send');
  });

  test('a burst is acknowledged every batch while xterm works through it, cumulatively', () => {
    const acks = new AckCounter();
    for (let i = 0; i < 8; i += 1) acks.receive(TERMINAL_CHUNK_BYTES);
    const sent: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const advice = acks.consume(TERMINAL_CHUNK_BYTES);
      if (i < 7) assert.equal(advice, 'now', `chunk ${i}: a full batch consumed`);
      const bytes = advice === 'now' ? acks.take() : undefined;
      if (bytes !== undefined) sent.push(bytes);
    }
    assert.deepEqual(
      sent,
      Array.from({ length: 8 }, (_, i) => (i + 1) * TERMINAL_CHUNK_BYTES),
    );
    assert.equal(acks.unacknowledged, 0);
  });

  test('small writes still pending wait for their callbacks; the last one brings the rest', () => {
    const acks = new AckCounter();
    acks.receive(100);
    acks.receive(200);
    assert.equal(acks.consume(100), 'none', 'the second write is still in xterm');
    assert.equal(acks.consume(200), 'soon');
    assert.equal(acks.take(), 300);
  });

  test('the console never acknowledges more than it received, whatever the callbacks claim', () => {
    const acks = new AckCounter();
    acks.receive(10);
    acks.consume(50);
    assert.equal(acks.take(), 10);
  });

  test('whatever the output pattern, unacknowledged bytes never exceed what keeps the window open', () => {
    // The agent pauses at TERMINAL_WINDOW_BYTES unacknowledged; once xterm has drained, at most one batch may
    // wait for the idle timer, which is far below the window, so output can never stall for good.
    assert.ok(ACK_BATCH_BYTES * 2 <= TERMINAL_WINDOW_BYTES);
    const acks = new AckCounter();
    let seed = 7;
    for (let round = 0; round < 2_000; round += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const size = 1 + (seed % TERMINAL_CHUNK_BYTES);
      acks.receive(size);
      const advice = acks.consume(size);
      if (advice === 'now') acks.take();
      assert.ok(acks.unacknowledged < ACK_BATCH_BYTES, `round ${round}: ${acks.unacknowledged}`);
      if (advice === 'soon' && round % 3 === 0) acks.take();
    }
  });
});
