import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetricsSample } from '@agentpod/contracts';
import { recordingLogger } from '../testing/recording-logger.ts';
import { MetricsBacklog, type MetricsFrame } from './backlog.ts';
import { MetricsSampler } from './sampler.ts';

const sample = (i: number): MetricsSample => ({
  at: new Date(i * 1000).toISOString(),
  node: {
    cpu: { total: 0, perCore: [] },
    memory: { totalBytes: 1, usedBytes: 0, availableBytes: 1, swapTotalBytes: 0, swapUsedBytes: 0 },
    load: [0, 0, 0],
    disks: [],
    network: [],
  },
  containers: [],
});

describe('metrics: the sampler', () => {
  test('sends each round while connected; keeps a bounded backlog while not, sent oldest first on flush', async () => {
    let i = 0;
    let ready = true;
    const sent: MetricsFrame[] = [];
    const sampler = new MetricsSampler({
      collect: async () => sample(i++),
      send: (frame) => sent.push(frame),
      ready: () => ready,
      intervalMs: 60_000,
      logger: recordingLogger().logger,
      backlog: new MetricsBacklog(40),
    });
    await sampler.round();
    assert.deepEqual(
      sent.map((frame) => frame.samples.map((s) => s.at)),
      [[sample(0).at]],
    );
    ready = false;
    for (let round = 0; round < 45; round++) await sampler.round();
    assert.equal(sent.length, 1, 'nothing sent while disconnected');
    assert.equal(sampler.waiting, 40, 'bounded');
    ready = true;
    sampler.flush();
    const resent = sent.slice(1).flatMap((frame) => frame.samples.map((s) => Date.parse(s.at) / 1000));
    assert.deepEqual(
      resent,
      Array.from({ length: 40 }, (_, k) => k + 6),
      'the newest 40, oldest first',
    );
    assert.deepEqual(
      sent.slice(1).map((frame) => frame.samples.length),
      [30, 10],
    );
    assert.equal(sampler.waiting, 0);
  });

  test('a failing round is logged (once, not every round) and the timer goes on; stop ends it', async () => {
    const { logger, lines } = recordingLogger();
    let rounds = 0;
    let failing = true;
    const sent: MetricsFrame[] = [];
    const sampler = new MetricsSampler({
      collect: async () => {
        rounds += 1;
        if (failing) throw new Error('no /proc');
        return sample(rounds);
      },
      send: (frame) => sent.push(frame),
      ready: () => true,
      intervalMs: 5,
      logger,
    });
    sampler.start();
    while (rounds < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    failing = false;
    while (sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await sampler.stop();
    const stoppedAt = rounds;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(rounds, stoppedAt, 'no round after stop');
    assert.equal(lines.filter((line) => line.message.includes('metrics round failed')).length, 1);
    assert.ok(lines.some((line) => line.message.includes('works again')));
  });

  test('a send that throws drops that frame and does not escape', async () => {
    const { logger, messages } = recordingLogger();
    const sampler = new MetricsSampler({
      collect: async () => sample(1),
      send: () => {
        throw new Error('socket gone');
      },
      ready: () => true,
      intervalMs: 1000,
      logger,
    });
    await sampler.round();
    assert.ok(messages().some((m) => m.includes('could not send metrics')));
  });
});
