import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentFrame } from '@agentpod/contracts';
import { Outbox } from './outbox.ts';

let n = 0;
const obs = (): AgentFrame => ({
  t: 'obs',
  id: `0190b5c8-0000-7000-8000-${String(n++).padStart(12, '0')}`,
  type: 'ContainerChanged',
  data: {},
});
const end = (session: string): AgentFrame => ({ t: 'pub', session, data: '{"t":"end"}' });
const res = (id: string): AgentFrame => ({ t: 'res', id, reply: '{"ok":true,"result":{}}' });

describe('outbox', () => {
  test('keeps durable frames across a closed socket and drops the rest', () => {
    const outbox = new Outbox();
    const changed = obs();
    outbox.push(changed, true);
    outbox.push(res('r1'), false);
    outbox.push(end('session-1'), true);
    outbox.dropTransient();
    const drained = outbox.drain();
    assert.deepEqual(drained.frames, [changed, end('session-1')]);
    assert.equal(drained.observations, 1);
    assert.equal(drained.overflowed, false);
    assert.equal(outbox.size, 0);
  });

  test('drains in the order frames were pushed', () => {
    const outbox = new Outbox();
    const frames = [obs(), res('a'), obs(), end('session-2')];
    for (const frame of frames) outbox.push(frame, true);
    assert.deepEqual(outbox.drain().frames, frames);
  });

  test('an overflow drops every waiting observation, keeps other frames and says so', () => {
    const outbox = new Outbox(3);
    const closing = end('session-3');
    outbox.push(obs(), true);
    outbox.push(closing, true);
    for (let i = 0; i < 5; i++) outbox.push(obs(), true);
    const drained = outbox.drain();
    assert.deepEqual(drained.frames, [closing]);
    assert.equal(drained.observations, 0);
    assert.equal(drained.overflowed, true);
    // After the drain it starts over.
    outbox.push(obs(), true);
    assert.deepEqual({ ...outbox.drain(), frames: [] }, { frames: [], observations: 1, overflowed: false });
  });

  test('observations up to the limit are all kept', () => {
    const outbox = new Outbox(3);
    for (let i = 0; i < 3; i++) outbox.push(obs(), true);
    const drained = outbox.drain();
    assert.equal(drained.frames.length, 3);
    assert.equal(drained.overflowed, false);
  });
});
