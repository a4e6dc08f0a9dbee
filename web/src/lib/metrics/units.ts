import { bytes } from '../format.ts';

/*
 * How chart values read: the legend (exact enough to compare) and the axes (short). A missing value — a gap in
 * the series, or the cursor off the chart — reads "—", never 0.
 */

export type Unit = 'percent' | 'bytes' | 'bytesPerSecond' | 'ratio';

const missing = (value: number | null | undefined): value is null | undefined =>
  value === null || value === undefined || !Number.isFinite(value);

/** CPU percent: of one core for a pod (a busy pod on two cores reads 200 %), of the machine for a node. */
export function percent(value: number | null | undefined): string {
  if (missing(value)) return '—';
  const digits = Math.abs(value) >= 10 || value === 0 ? 0 : 1;
  return `${value.toFixed(digits)} %`;
}

/** A fraction 0–1 as a percent (a node's fullest disk). */
export const ratio = (value: number | null | undefined): string => (missing(value) ? '—' : percent(value * 100));

export const bytesPerSecond = (value: number | null | undefined): string =>
  missing(value) ? '—' : `${bytes(value)}/s`;

export function formatValue(unit: Unit, value: number | null | undefined): string {
  switch (unit) {
    case 'percent':
      return percent(value);
    case 'ratio':
      return ratio(value);
    case 'bytes':
      return missing(value) ? '—' : bytes(value);
    case 'bytesPerSecond':
      return bytesPerSecond(value);
    default: {
      const never: never = unit;
      return String(never);
    }
  }
}

/** Axis ticks: the legend's words without the space, so a narrow axis fits them ("12%", "3.4 MiB/s"). */
export function formatTick(unit: Unit, value: number): string {
  if (unit === 'percent') return `${Number(value.toFixed(value !== 0 && Math.abs(value) < 10 ? 1 : 0))}%`;
  if (unit === 'ratio') return `${Math.round(value * 100)}%`;
  return formatValue(unit, value);
}
