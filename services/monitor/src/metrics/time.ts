import type { MetricsRange } from '@agentpod/contracts';

/*
 * The time arithmetic of metrics, pure: how long each tier is kept, which resolution answers which range, when a
 * minute or an hour is complete enough to roll up. Buckets are aligned on UTC (PostgreSQL's date_bin from the
 * same origin), never on the server's time zone.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Retention of each tier. */
export const RETENTION_MS = { raw: DAY_MS, '1m': 30 * DAY_MS, '1h': 365 * DAY_MS } as const;

/**
 * How long after a bucket ends its roll-up waits for stragglers (the ingester's 1 s flush, a frame on its way).
 * A sample arriving later still counts: it marks its minute dirty again and the minute is rolled up again.
 */
export const ROLLUP_GRACE_MS = 15_000;

/** The origin every bucket is aligned to (as in SQL: `date_bin(step, at, BUCKET_ORIGIN)`). */
export const BUCKET_ORIGIN = '2000-01-01T00:00:00Z';
const ORIGIN_MS = Date.parse(BUCKET_ORIGIN);

/** The start of the `stepMs` bucket holding `time`. */
export function bucketStart(time: Date | number, stepMs: number): Date {
  const ms = typeof time === 'number' ? time : time.getTime();
  return new Date(ORIGIN_MS + Math.floor((ms - ORIGIN_MS) / stepMs) * stepMs);
}

export const RANGE_MS: Record<MetricsRange, number> = {
  '1h': HOUR_MS,
  '24h': DAY_MS,
  '7d': 7 * DAY_MS,
  '30d': 30 * DAY_MS,
};

export type Resolution = 'raw' | '1m' | '1h';

/** Raw samples are averaged into buckets of this width: at most 361 points an hour whatever the agents' interval. */
export const RAW_BUCKET_SECONDS = 10;

export type SeriesWindow = { resolution: Resolution; stepSeconds: number; from: Date; to: Date };

/**
 * The resolution of a range and the window it covers: 1h raw (10 s buckets, 361 points at most), 24h from 1-minute
 * roll-ups (1,441), 7d and 30d from 1-hour roll-ups (169 and 721). `from` is the first bucket that starts within
 * the range, `to` is now: the last bucket may be partial (raw) or not rolled up yet (a gap until it is).
 */
export function seriesWindow(range: MetricsRange, now: Date): SeriesWindow {
  const [resolution, stepSeconds]: [Resolution, number] =
    range === '1h' ? ['raw', RAW_BUCKET_SECONDS] : range === '24h' ? ['1m', 60] : ['1h', 3600];
  const stepMs = stepSeconds * 1000;
  const earliest = now.getTime() - RANGE_MS[range];
  const first = bucketStart(earliest, stepMs);
  const from = first.getTime() < earliest ? new Date(first.getTime() + stepMs) : first;
  return { resolution, stepSeconds, from, to: now };
}

/**
 * The spacing of raw points: the median gap between consecutive buckets, rounded to whole buckets (at least one).
 * An agent sampling every 30 s yields a point every third 10 s bucket; a chart that knows the spacing is 30 s
 * draws a line through them and breaks it only where a sample is really missing.
 */
export function rawStepSeconds(bucketTimes: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < bucketTimes.length; i++) gaps.push((bucketTimes[i] ?? 0) - (bucketTimes[i - 1] ?? 0));
  if (gaps.length === 0) return RAW_BUCKET_SECONDS;
  gaps.sort((a, b) => a - b);
  const median = gaps[Math.floor((gaps.length - 1) / 2)] ?? 0;
  const bucketMs = RAW_BUCKET_SECONDS * 1000;
  return Math.max(1, Math.round(median / bucketMs)) * RAW_BUCKET_SECONDS;
}

/** The latest minute start that is complete at `now` (its end and the grace have passed). */
export const lastCompleteMinute = (now: Date): Date => new Date(now.getTime() - ROLLUP_GRACE_MS - MINUTE_MS);

/**
 * The latest hour start that is complete at `now`: its last minute must have been rolled up too (a minute after
 * the hour's end, plus the grace).
 */
export const lastCompleteHour = (now: Date): Date => new Date(now.getTime() - ROLLUP_GRACE_MS - MINUTE_MS - HOUR_MS);

/**
 * The oldest minute still worth rolling up: raw samples before `now - 24 h` are being deleted, so a minute older
 * than that (a roll-up job that was down a day) could be rolled from a part of its samples and overwrite a good
 * 1-minute bucket. Such dirty marks are dropped instead.
 */
export const oldestRollableMinute = (now: Date): Date => new Date(now.getTime() - RETENTION_MS.raw + MINUTE_MS);
export const oldestRollableHour = (now: Date): Date => new Date(now.getTime() - RETENTION_MS['1m'] + HOUR_MS);

/** Each tier's delete cutoff: rows strictly before it go. */
export function retentionCutoffs(now: Date): Record<Resolution, Date> {
  const t = now.getTime();
  return {
    raw: new Date(t - RETENTION_MS.raw),
    '1m': new Date(t - RETENTION_MS['1m']),
    '1h': new Date(t - RETENTION_MS['1h']),
  };
}

/** The distinct bucket starts of a list of ISO times, ascending (the order every writer takes their row locks in). */
export function distinctBuckets(times: Iterable<string>, stepMs: number): string[] {
  const starts = new Set<number>();
  for (const time of times) starts.add(bucketStart(Date.parse(time), stepMs).getTime());
  return [...starts].sort((a, b) => a - b).map((ms) => new Date(ms).toISOString());
}
