import type { MetricsRange, Series, SeriesPoint } from '@agentpod/contracts';
import type { Unit } from './units.ts';

/*
 * From the monitor's Series (contracts/src/metrics.ts) to what a chart draws: one x array (Unix seconds) and one
 * y array per line, all the same length (uPlot's "aligned data"). The monitor only returns buckets that have
 * samples, so a stretch without any (an agent that was offline, a pod that was stopped) would be drawn as a
 * straight line between its ends; a null inserted after a point followed by such a stretch breaks the line there
 * instead, so the gap shows as a gap. Pure: tested in series.unit.test.ts.
 */

export type MetricsTarget = { kind: 'pod'; tenantId: string; podId: string } | { kind: 'node'; nodeId: string };

/** The API path (under /api/v1) of a target's series (contracts/src/metrics.ts `metricsRoutes`). */
export const seriesPath = (target: MetricsTarget): string =>
  target.kind === 'pod'
    ? `/tenants/${encodeURIComponent(target.tenantId)}/pods/${encodeURIComponent(target.podId)}/metrics`
    : `/nodes/${encodeURIComponent(target.nodeId)}/metrics`;

export const RANGES = ['1h', '24h', '7d', '30d'] as const satisfies readonly MetricsRange[];
export const RANGE_LABELS: Record<MetricsRange, string> = { '1h': '1 h', '24h': '24 h', '7d': '7 d', '30d': '30 d' };

/** How often a shown range is fetched again: raw samples (every 10 s) for 1 h, minute buckets for 24 h; longer ranges only move by the hour. */
export function refreshIntervalMs(range: MetricsRange): number | null {
  switch (range) {
    case '1h':
      return 10_000;
    case '24h':
      return 60_000;
    case '7d':
    case '30d':
      return null;
    default: {
      const never: never = range;
      return never;
    }
  }
}

export type MetricKind = 'cpu' | 'memory' | 'network' | 'disk';
export const METRICS: readonly MetricKind[] = ['cpu', 'memory', 'network', 'disk'];

/** A colour of the console's palette (app.css), so lines follow the light and dark themes. */
export type Tone = 'accent' | 'ok' | 'warn' | 'bad' | 'muted';

export type Line = {
  label: string;
  value: (point: SeriesPoint) => number | null;
  unit: Unit;
  tone: Tone;
  /** Drawn dashed: a bound (a limit), not a measurement. */
  dashed?: boolean;
  /** The right-hand axis (a second unit on the same chart). */
  right?: boolean;
};

export type ChartSpec = { metric: MetricKind; title: string; unit: Unit; rightUnit?: Unit; lines: Line[] };

/**
 * The lines of each chart. Raw samples have no spread, so their "max" would repeat the average and is left out;
 * a pod has no disk-used ratio (its volume is on the node's disk).
 */
export function chartSpecs(kind: Series['target']['kind'], resolution: Series['resolution']): ChartSpec[] {
  const rolled = resolution !== 'raw';
  const node = kind === 'node';
  const cpu: Line[] = [
    { label: rolled ? 'CPU avg' : 'CPU', value: (p) => p.cpuPercent, unit: 'percent', tone: 'accent' },
  ];
  if (rolled) cpu.push({ label: 'CPU max', value: (p) => p.cpuPercentMax, unit: 'percent', tone: 'warn' });
  const memory: Line[] = [
    { label: rolled ? 'Used avg' : 'Used', value: (p) => p.memoryBytes, unit: 'bytes', tone: 'accent' },
  ];
  if (rolled) memory.push({ label: 'Used max', value: (p) => p.memoryBytesMax, unit: 'bytes', tone: 'warn' });
  memory.push({
    label: node ? 'Total' : 'Limit',
    value: (p) => p.memoryLimitBytes,
    unit: 'bytes',
    tone: 'bad',
    dashed: true,
  });
  const disk: Line[] = [
    { label: 'Read', value: (p) => p.diskReadBytesPerSec, unit: 'bytesPerSecond', tone: 'ok' },
    { label: 'Write', value: (p) => p.diskWriteBytesPerSec, unit: 'bytesPerSecond', tone: 'accent' },
  ];
  if (node) disk.push({ label: 'Used', value: (p) => p.diskUsedRatio, unit: 'ratio', tone: 'bad', right: true });
  return [
    { metric: 'cpu', title: node ? 'CPU (of the machine)' : 'CPU (100 % = one core)', unit: 'percent', lines: cpu },
    { metric: 'memory', title: 'Memory', unit: 'bytes', lines: memory },
    {
      metric: 'network',
      title: 'Network',
      unit: 'bytesPerSecond',
      lines: [
        { label: 'Received', value: (p) => p.netRxBytesPerSec, unit: 'bytesPerSecond', tone: 'ok' },
        { label: 'Sent', value: (p) => p.netTxBytesPerSec, unit: 'bytesPerSecond', tone: 'accent' },
      ],
    },
    {
      metric: 'disk',
      title: node ? 'Disk I/O and fullest mount' : 'Disk I/O',
      unit: 'bytesPerSecond',
      ...(node ? { rightUnit: 'ratio' as const } : {}),
      lines: disk,
    },
  ];
}

/** x: Unix seconds; ys: one array per line, null where there is no value (a gap, or a pod without a limit). */
export type ChartData = { x: number[]; ys: (number | null)[][] };

/** Two points further apart than this many steps have a gap between them (one late or lost sample does not). */
export const GAP_STEPS = 2;

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** The chart's data for one spec: points in time order, a null row after any point followed by a gap. */
export function chartData(series: Pick<Series, 'points' | 'stepSeconds'>, lines: readonly Line[]): ChartData {
  const points = series.points
    .map((point) => ({ point, at: seconds(point.at) }))
    .filter(({ at }) => Number.isFinite(at))
    .sort((a, b) => a.at - b.at);
  const x: number[] = [];
  const ys: (number | null)[][] = lines.map(() => []);
  const gap = GAP_STEPS * Math.max(1, series.stepSeconds);
  let previous: number | undefined;
  for (const { point, at } of points) {
    if (previous !== undefined && at - previous > gap) {
      // Just after the last point before the gap: the line stops there and starts again at the next point.
      x.push(previous + Math.max(1, series.stepSeconds));
      for (const y of ys) y.push(null);
    }
    x.push(at);
    lines.forEach((line, index) => {
      const value = line.value(point);
      ys[index]?.push(value === null || !Number.isFinite(value) ? null : value);
    });
    previous = at;
  }
  return { x, ys };
}

/** The x range a chart shows: the whole asked range, so missing data at either end shows as empty space. */
export function timeWindow(series: Pick<Series, 'from' | 'to'>): { min: number; max: number } | null {
  const min = seconds(series.from);
  const max = seconds(series.to);
  return Number.isFinite(min) && Number.isFinite(max) && max > min ? { min, max } : null;
}
