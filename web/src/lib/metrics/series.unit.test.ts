import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Series, SeriesPoint } from '@agentpod/contracts';
import { chartData, chartSpecs, GAP_STEPS, RANGES, refreshIntervalMs, seriesPath, timeWindow } from './series.ts';

const T0 = Date.parse('2030-01-01T00:00:00.000Z') / 1000;
const iso = (secondsAfter: number) => new Date((T0 + secondsAfter) * 1000).toISOString();

function point(secondsAfter: number, fields: Partial<SeriesPoint> = {}): SeriesPoint {
  return {
    at: iso(secondsAfter),
    cpuPercent: 10,
    cpuPercentMax: 20,
    memoryBytes: 100,
    memoryBytesMax: 150,
    memoryLimitBytes: 1_000,
    netRxBytesPerSec: 1,
    netTxBytesPerSec: 2,
    diskReadBytesPerSec: 3,
    diskWriteBytesPerSec: 4,
    diskUsedRatio: null,
    ...fields,
  };
}

function series(fields: Partial<Series> = {}): Series {
  return {
    target: { kind: 'pod', tenantId: 'acme', podId: 'web' },
    range: '1h',
    resolution: 'raw',
    stepSeconds: 10,
    from: iso(-3600),
    to: iso(0),
    points: [],
    ...fields,
  };
}

const spec = (s: Series, metric: string) => {
  const found = chartSpecs(s.target.kind, s.resolution).find((candidate) => candidate.metric === metric);
  assert.ok(found, metric);
  return found;
};

describe('chartData', () => {
  it('gives Unix seconds and one array per line, all the same length', () => {
    const s = series({ points: [point(0), point(10), point(20, { cpuPercent: 55.5 })] });
    const data = chartData(s, spec(s, 'cpu').lines);
    assert.deepEqual(data.x, [T0, T0 + 10, T0 + 20]);
    assert.deepEqual(data.ys, [[10, 10, 55.5]]);
  });

  it('breaks the line with a null after a point followed by more than GAP_STEPS steps without data', () => {
    const s = series({
      points: [point(0), point(10), point(10 + GAP_STEPS * 10 + 1), point(10 + GAP_STEPS * 10 + 11)],
    });
    const data = chartData(s, spec(s, 'network').lines);
    assert.deepEqual(data.x, [T0, T0 + 10, T0 + 20, T0 + 31, T0 + 41]);
    assert.deepEqual(data.ys, [
      [1, 1, null, 1, 1],
      [2, 2, null, 2, 2],
    ]);
  });

  it('bridges one late or lost sample (at most GAP_STEPS steps apart is no gap)', () => {
    const s = series({ points: [point(0), point(GAP_STEPS * 10), point(GAP_STEPS * 10 + 12)] });
    const data = chartData(s, spec(s, 'cpu').lines);
    assert.equal(data.x.length, 3);
    assert.ok(data.ys[0]?.every((value) => value !== null));
  });

  it('scales the gap with the resolution: hour buckets an hour apart are contiguous', () => {
    const s = series({ resolution: '1h', stepSeconds: 3600, points: [point(0), point(3600), point(7200)] });
    assert.equal(chartData(s, spec(s, 'cpu').lines).x.length, 3);
  });

  it('sorts points by time and drops unreadable timestamps', () => {
    const s = series({ points: [point(20), { ...point(5), at: 'not a date' }, point(0), point(10)] });
    assert.deepEqual(chartData(s, spec(s, 'cpu').lines).x, [T0, T0 + 10, T0 + 20]);
  });

  it('keeps nulls of the data itself (a pod without a memory limit) and turns non-finite values into null', () => {
    const s = series({ points: [point(0, { memoryLimitBytes: null }), point(10, { memoryBytes: Number.NaN })] });
    const memory = spec(s, 'memory');
    const data = chartData(s, memory.lines);
    const used = memory.lines.findIndex((line) => line.label === 'Used');
    const limit = memory.lines.findIndex((line) => line.label === 'Limit');
    assert.deepEqual(data.ys[used], [100, null]);
    assert.deepEqual(data.ys[limit], [null, 1_000]);
  });

  it('answers empty arrays for no points (the panel then says there are no metrics yet)', () => {
    const s = series();
    assert.deepEqual(chartData(s, spec(s, 'disk').lines), { x: [], ys: [[], []] });
  });
});

describe('chartSpecs', () => {
  it('draws avg and max only for roll-ups (a raw sample has no spread)', () => {
    assert.deepEqual(
      spec(series({ resolution: 'raw' }), 'cpu').lines.map((line) => line.label),
      ['CPU'],
    );
    assert.deepEqual(
      spec(series({ resolution: '1m' }), 'cpu').lines.map((line) => line.label),
      ['CPU avg', 'CPU max'],
    );
    assert.deepEqual(
      spec(series({ resolution: '1h' }), 'memory').lines.map((line) => line.label),
      ['Used avg', 'Used max', 'Limit'],
    );
  });

  it('gives a node its disk-used ratio on a right-hand percent axis, a pod none', () => {
    const node = series({ target: { kind: 'node', nodeId: 'n1' } });
    const disk = spec(node, 'disk');
    assert.equal(disk.rightUnit, 'ratio');
    const used = disk.lines.find((line) => line.right);
    assert.equal(used?.value(point(0, { diskUsedRatio: 0.42 })), 0.42);
    assert.equal(spec(series(), 'disk').rightUnit, undefined);
    assert.ok(spec(series(), 'disk').lines.every((line) => !line.right));
    assert.equal(spec(node, 'memory').lines.at(-1)?.label, 'Total');
  });

  it('has the four charts in a stable order (their data-metric attributes)', () => {
    assert.deepEqual(
      chartSpecs('pod', 'raw').map((s) => s.metric),
      ['cpu', 'memory', 'network', 'disk'],
    );
  });
});

describe('refreshIntervalMs', () => {
  it('refreshes the last hour every 10 s (the sampling interval), 24 h every minute, longer ranges never', () => {
    assert.equal(refreshIntervalMs('1h'), 10_000);
    assert.equal(refreshIntervalMs('24h'), 60_000);
    assert.equal(refreshIntervalMs('7d'), null);
    assert.equal(refreshIntervalMs('30d'), null);
    assert.deepEqual(RANGES, ['1h', '24h', '7d', '30d']);
  });
});

describe('timeWindow', () => {
  it('spans the asked range so missing data at the ends shows as empty space', () => {
    assert.deepEqual(timeWindow(series()), { min: T0 - 3600, max: T0 });
  });
  it('is null for an empty or unreadable range (the chart then fits its data)', () => {
    assert.equal(timeWindow(series({ from: iso(0), to: iso(0) })), null);
    assert.equal(timeWindow(series({ from: 'x' })), null);
  });
});

describe('seriesPath', () => {
  it('is the contract path of a pod or a node, its ids escaped', () => {
    assert.equal(seriesPath({ kind: 'pod', tenantId: 'acme', podId: 'web' }), '/tenants/acme/pods/web/metrics');
    assert.equal(seriesPath({ kind: 'node', nodeId: 'a/b' }), '/nodes/a%2Fb/metrics');
  });
});
