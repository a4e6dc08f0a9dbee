import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsRange } from '@agentpod/contracts';
import { decodeMetricsMessage, MAX_METRICS_MESSAGE_BYTES, nodeOfSubject, rowsOf, sampleAge } from './decode.ts';
import { container, encode, message, NODE_A, NODE_B, sample } from './samples.testing.ts';
import {
  bucketStart,
  DAY_MS,
  distinctBuckets,
  HOUR_MS,
  lastCompleteHour,
  lastCompleteMinute,
  MINUTE_MS,
  oldestRollableMinute,
  RANGE_MS,
  rawStepSeconds,
  retentionCutoffs,
  seriesWindow,
} from './time.ts';

const subject = (nodeId: string) => `agent.${nodeId}.metrics`;
const AT = '2031-03-04T05:06:07.000Z';

describe('metrics: decoding what arrives on agent.<node>.metrics', () => {
  test('a valid message decodes to its node and samples', () => {
    const decoded = decodeMetricsMessage(subject(NODE_A), encode(message(NODE_A, [sample(AT, 5)])));
    assert.equal(decoded.ok, true);
    assert.equal(decoded.ok && decoded.nodeId, NODE_A);
    assert.equal(decoded.ok && decoded.samples.length, 1);
  });

  test('bad input is dropped with a reason, never thrown', () => {
    const cases: [Uint8Array, string, string][] = [
      [new TextEncoder().encode('{"nodeId":'), subject(NODE_A), 'not_json'],
      [new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), subject(NODE_A), 'not_json'],
      [encode({ nodeId: NODE_A, samples: [] }), subject(NODE_A), 'invalid'],
      [encode({ nodeId: NODE_A, samples: [{ at: 'yesterday' }] }), subject(NODE_A), 'invalid'],
      [encode([1, 2, 3]), subject(NODE_A), 'invalid'],
      [encode(null), subject(NODE_A), 'invalid'],
      [
        encode(message(NODE_A, [sample(AT, 1, [container({ tenantId: 'acme', podId: 'web' }, -5)])])),
        subject(NODE_A),
        'invalid',
      ],
      [encode(message(NODE_A, [sample(AT, 1)])), subject(NODE_B), 'node_mismatch'],
      [encode(message(NODE_A, [sample(AT, 1)])), 'agent.metrics', 'node_mismatch'],
      [new Uint8Array(MAX_METRICS_MESSAGE_BYTES + 1), subject(NODE_A), 'too_large'],
    ];
    for (const [data, on, reason] of cases) {
      const decoded = decodeMetricsMessage(on, data);
      assert.equal(decoded.ok, false, `${reason}: ${on}`);
      assert.equal(!decoded.ok && decoded.reason, reason, !decoded.ok ? decoded.detail : '');
    }
  });

  test('the node comes from the subject only when it has exactly that shape', () => {
    assert.equal(nodeOfSubject(subject(NODE_A)), NODE_A);
    assert.equal(nodeOfSubject('agent..metrics'), undefined);
    assert.equal(nodeOfSubject(`agent.${NODE_A}.obs`), undefined);
    assert.equal(nodeOfSubject(`agent.${NODE_A}.metrics.x`), undefined);
  });

  test('a round becomes one node row and one row per labelled container', () => {
    const web = container({ tenantId: 'acme', podId: 'web' }, 7);
    const stray = container({ tenantId: '', podId: '' }, 3);
    const { node, pods } = rowsOf(NODE_A, sample('2031-03-04T05:06:07Z', 4, [web, stray]));
    assert.deepEqual(node, {
      node_id: NODE_A,
      at: AT,
      cpu_percent: 4,
      memory_used_bytes: 40_000_000,
      memory_total_bytes: 8_000_000_000,
      swap_used_bytes: 0,
      load1: 0.04,
      net_rx: 401,
      net_tx: 201,
      disk_read: 5,
      disk_write: 9,
      // The fullest mount: /data at 600 of 1000.
      disk_used_ratio: 0.6,
    });
    assert.deepEqual(
      pods.map((p) => [p.tenant_id, p.pod_id, p.cpu_percent, p.memory_bytes, p.net_rx, p.blk_write]),
      [['acme', 'web', 7, 7_000_000, 70, 280]],
    );
  });

  test('a node reporting no disk has no used ratio (not zero)', () => {
    const round = sample(AT, 1);
    round.node.disks = [];
    assert.equal(rowsOf(NODE_A, round).node.disk_used_ratio, null);
  });

  test('rounds older than the raw retention or too far ahead are refused', () => {
    const now = new Date(AT);
    const at = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();
    assert.equal(sampleAge(at(0), now, DAY_MS), 'ok');
    assert.equal(sampleAge(at(-DAY_MS + 1000), now, DAY_MS), 'ok');
    assert.equal(sampleAge(at(-DAY_MS), now, DAY_MS), 'too_old');
    assert.equal(sampleAge(at(9 * MINUTE_MS), now, DAY_MS), 'ok');
    assert.equal(sampleAge(at(11 * MINUTE_MS), now, DAY_MS), 'in_future');
  });
});

describe('metrics: buckets, resolutions and roll-up timing', () => {
  test('buckets are aligned on UTC, whatever the step', () => {
    assert.equal(bucketStart(new Date(AT), MINUTE_MS).toISOString(), '2031-03-04T05:06:00.000Z');
    assert.equal(bucketStart(new Date(AT), HOUR_MS).toISOString(), '2031-03-04T05:00:00.000Z');
    assert.equal(bucketStart(new Date(AT), 10_000).toISOString(), '2031-03-04T05:06:00.000Z');
    assert.equal(
      bucketStart(new Date('1999-12-31T23:59:59.500Z'), MINUTE_MS).toISOString(),
      '1999-12-31T23:59:00.000Z',
    );
  });

  test('each range has its resolution and never more than ~2,000 points', () => {
    const now = new Date(AT);
    const expected = { '1h': ['raw', 10], '24h': ['1m', 60], '7d': ['1h', 3600], '30d': ['1h', 3600] } as const;
    for (const range of MetricsRange.options) {
      const window = seriesWindow(range, now);
      assert.deepEqual([window.resolution, window.stepSeconds], expected[range], range);
      assert.equal(window.to.getTime(), now.getTime());
      assert.ok(window.from.getTime() >= now.getTime() - RANGE_MS[range], `${range} starts within the range`);
      assert.ok(window.from.getTime() - (now.getTime() - RANGE_MS[range]) < window.stepSeconds * 1000);
      assert.equal(window.from.getTime() % (window.stepSeconds * 1000), 0, `${range} starts on a bucket`);
      const points = Math.floor((window.to.getTime() - window.from.getTime()) / (window.stepSeconds * 1000)) + 1;
      assert.ok(points <= 2_000, `${range}: ${points} points`);
    }
  });

  test('the raw step follows the agents interval, in whole 10 s buckets', () => {
    const at = (seconds: number[]) => seconds.map((s) => s * 1000);
    assert.equal(rawStepSeconds([]), 10);
    assert.equal(rawStepSeconds(at([0])), 10);
    assert.equal(rawStepSeconds(at([0, 10, 20, 30])), 10);
    assert.equal(rawStepSeconds(at([0, 30, 60, 90, 120])), 30);
    // One gap (a missing sample) does not change the step: it stays a gap.
    assert.equal(rawStepSeconds(at([0, 10, 20, 60, 70, 80])), 10);
  });

  test('a minute is rolled up once it and the grace are over; an hour once its last minute is', () => {
    const now = new Date('2031-03-04T05:06:20.000Z');
    // 05:05 ended at 05:06:00; with 15 s of grace it is complete at 05:06:15.
    assert.ok(new Date('2031-03-04T05:05:00Z') <= lastCompleteMinute(now));
    assert.ok(new Date('2031-03-04T05:06:00Z') > lastCompleteMinute(now));
    assert.ok(new Date('2031-03-04T05:00:00Z') > lastCompleteHour(now));
    // 04:00–05:00: its last minute is rolled up from 05:01:15 on.
    assert.ok(new Date('2031-03-04T04:00:00Z') <= lastCompleteHour(new Date('2031-03-04T05:01:15Z')));
    assert.ok(new Date('2031-03-04T04:00:00Z') > lastCompleteHour(new Date('2031-03-04T05:01:14Z')));
    assert.ok(new Date('2031-03-03T05:06:20Z') < oldestRollableMinute(now));
    const cutoffs = retentionCutoffs(now);
    assert.equal(now.getTime() - cutoffs.raw.getTime(), DAY_MS);
    assert.equal(now.getTime() - cutoffs['1m'].getTime(), 30 * DAY_MS);
    assert.equal(now.getTime() - cutoffs['1h'].getTime(), 365 * DAY_MS);
  });

  test('the minutes a flush touches are distinct and ascending (the order locks are taken in)', () => {
    assert.deepEqual(
      distinctBuckets(['2031-03-04T05:07:01Z', '2031-03-04T05:06:59Z', '2031-03-04T05:06:00Z'], MINUTE_MS),
      ['2031-03-04T05:06:00.000Z', '2031-03-04T05:07:00.000Z'],
    );
  });
});
