import type uPlot from 'uplot';
import type { Line, Tone } from './series.ts';
import { formatTick, formatValue, type Unit } from './units.ts';

/*
 * uPlot options for one chart of the console: colours from the page's CSS variables (so the chart follows the
 * light and dark themes), values in the legend formatted by unit ("—" for a gap), the x scale pinned to the
 * asked range, y from zero. Only types come from uPlot here: the library itself is loaded with the first chart.
 */

export type Palette = Record<Tone | 'text' | 'line', string>;

/** The console's colours as its stylesheet sets them right now (app.css; they change with the colour scheme). */
export function readPalette(element: Element): Palette {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    accent: read('--accent', '#1f6feb'),
    ok: read('--ok', '#1a7f37'),
    warn: read('--warn', '#8a5a00'),
    bad: read('--bad', '#b42318'),
    muted: read('--muted', '#5b6470'),
    text: read('--text', '#1b1f24'),
    line: read('--line', '#d8dde3'),
  };
}

/** Byte amounts tick at powers of two (1 KiB, 2 KiB, 4 KiB…), so the axis reads in round binary units. */
const BINARY_INCRS = Array.from({ length: 51 }, (_, power) => 2 ** power);
const FRACTION_INCRS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1];

function axisFor(unit: Unit, palette: Palette, side: 1 | 3, scale: string): uPlot.Axis {
  return {
    scale,
    side,
    stroke: palette.muted,
    grid: { show: side === 3, stroke: palette.line, width: 1 },
    ticks: { stroke: palette.line, width: 1, size: 4 },
    size: unit === 'bytes' || unit === 'bytesPerSecond' ? 76 : 46,
    ...(unit === 'bytes' || unit === 'bytesPerSecond' ? { incrs: BINARY_INCRS } : {}),
    ...(unit === 'ratio' ? { incrs: FRACTION_INCRS } : {}),
    values: (_self, splits) => splits.map((value) => formatTick(unit, value)),
  };
}

export type Window = { min: number; max: number } | null;

export type ChartOptionsInput = {
  width: number;
  height: number;
  unit: Unit;
  rightUnit?: Unit | undefined;
  lines: readonly Pick<Line, 'label' | 'unit' | 'tone' | 'dashed' | 'right'>[];
  palette: Palette;
  /** Read on every redraw: the x range of the data last set (the window moves with each refresh). */
  window: () => Window;
};

const time = (seconds: number | null): string =>
  seconds === null || !Number.isFinite(seconds) ? '—' : new Date(seconds * 1000).toLocaleString();

export function chartOptions(input: ChartOptionsInput): uPlot.Options {
  const { palette, unit, rightUnit } = input;
  const fromZero: uPlot.Scale.Range = (_self, _min, max) => [0, max > 0 ? max * 1.1 : 1];
  return {
    width: input.width,
    height: input.height,
    // No zoom by dragging: the 1 h range refreshes every 10 s and would undo it; the range buttons choose.
    cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: {
        time: true,
        range: (_self, min, max) => {
          const window = input.window();
          return window ? [window.min, window.max] : [min, max];
        },
      },
      y: { range: fromZero },
      ...(rightUnit ? { right: { range: rightUnit === 'ratio' ? [0, 1] : fromZero } } : {}),
    },
    axes: [
      { stroke: palette.muted, grid: { stroke: palette.line, width: 1 }, ticks: { stroke: palette.line, width: 1 } },
      axisFor(unit, palette, 3, 'y'),
      ...(rightUnit ? [axisFor(rightUnit, palette, 1, 'right')] : []),
    ],
    series: [
      { label: 'Time', value: (_self, seconds) => time(seconds) },
      ...input.lines.map(
        (line): uPlot.Series => ({
          label: line.label,
          scale: line.right ? 'right' : 'y',
          stroke: palette[line.tone],
          width: line.dashed ? 1.25 : 1.5,
          ...(line.dashed ? { dash: [6, 4] } : {}),
          // Nulls are gaps (series.ts puts one where samples are missing): never drawn across.
          spanGaps: false,
          value: (_self, value) => formatValue(line.unit, value),
        }),
      ),
    ],
  };
}
