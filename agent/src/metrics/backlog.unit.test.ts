import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { METRICS_BACKLOG_SAMPLES, METRICS_SAMPLES_PER_FRAME, type MetricsSample } from '@agentpod/contracts';
import { MetricsBacklog } from './backlog.ts';

const sample = (i: number, padding = ''): MetricsSample => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  node: {
    cpu: { total: i % 100, perCore: [] },
    memory: { totalBytes: 1, usedBytes: 0, availableBytes: 1, swapTotalBytes: 0, swapUsedBytes: 0 },
    load: [0, 0, 0],
    disks: padding
      ? [{ mount: padding, device: 'd', totalBytes: 0, usedBytes: 0, readBytesPerSec: 0, writeBytesPerSec: 0 }]
      : [],
    network: [],
  },
  containers: [],
});
const seconds = (frame: { samples: MetricsSample[] } | undefined) =>
  frame?.samples.map((s) => new Date(s.at).getUTCSeconds() + new Date(s.at).getUTCMinutes() * 60) ?? [];

describe('metrics: the backlog kept while disconnected', () => {
  test('bounded: the oldest rounds are dropped first and counted', () => {
    const backlog = new MetricsBacklog();
    for (let i = 0; i < METRICS_BACKLOG_SAMPLES + 25; i++) backlog.push(sample(i));
    assert.equal(backlog.size, METRICS_BACKLOG_SAMPLES);
    assert.equal(backlog.dropped, 25);
    const first = backlog.takeFrame();
    assert.equal(first?.t, 'metrics');
    assert.equal(first?.samples[0]?.at, sample(25).at, 'the oldest kept comes first');
  });

  test('sent oldest first in frames of at most METRICS_SAMPLES_PER_FRAME, until empty', () => {
    const backlog = new MetricsBacklog(100);
    for (let i = 0; i < 65; i++) backlog.push(sample(i));
    const frames = [];
    for (let frame = backlog.takeFrame(); frame; frame = backlog.takeFrame()) frames.push(frame);
    assert.deepEqual(
      frames.map((frame) => frame.samples.length),
      [METRICS_SAMPLES_PER_FRAME, METRICS_SAMPLES_PER_FRAME, 5],
    );
    assert.deepEqual(
      frames.flatMap((frame) => seconds(frame)),
      Array.from({ length: 65 }, (_, i) => i),
    );
    assert.equal(backlog.size, 0);
    assert.equal(backlog.takeFrame(), undefined);
  });

  test('a frame stays under the byte budget (NATS max_payload); a round bigger than it goes alone', () => {
    const backlog = new MetricsBacklog();
    for (let i = 0; i < 4; i++) backlog.push(sample(i, 'x'.repeat(400)));
    const one = JSON.stringify(sample(0, 'x'.repeat(400))).length;
    assert.equal(backlog.takeFrame(2 * one + 10)?.samples.length, 2);
    assert.equal(backlog.takeFrame(10)?.samples.length, 1);
    assert.equal(backlog.takeFrame()?.samples.length, 1);
  });
});
