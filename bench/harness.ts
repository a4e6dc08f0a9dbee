import { z } from 'zod';

/*
 * What a benchmark is and what it reports. A benchmark measures AgentPod and a baseline doing the same work on
 * the same servers in the same run, so the ratio between them means something on any machine; the absolute
 * numbers only describe the machine they were taken on.
 */

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** What `run()` returns. `ratio` is oriented so that higher is better for AgentPod (value/baseline for rates). */
export const BenchResult = z.object({
  /** AgentPod's figure, e.g. appends per second. */
  value: finite,
  unit: z.string().min(1),
  /** The baseline's figure in the same unit, measured in the same run. */
  baseline: finite,
  ratio: finite,
  /** How it was measured: rounds, sizes, spread; enough to judge the numbers without reading the code. */
  notes: z.string(),
});
export type BenchResult = z.infer<typeof BenchResult>;

export const Comparison = z.enum(['>=', '<=']);
export type Comparison = z.infer<typeof Comparison>;

/**
 * A target is reported, never enforced: `{ ratio: '>=', value: 0.5 }` compares the result's ratio with 0.5,
 * `{ measured: '<=', value: 20 }` compares the result's own value (in its unit) with 20.
 */
export const Target = z.union([
  z.object({ ratio: Comparison, value: finite }).strict(),
  z.object({ measured: Comparison, value: finite }).strict(),
]);
export type Target = z.infer<typeof Target>;

/** Given to `run()`: where to register clean-ups and report progress. */
export type BenchContext = {
  /**
   * Registers a clean-up (stop a server, drop a database). The harness runs them in reverse order when the
   * benchmark returns, throws, or the run is interrupted, so a benchmark needs no try/finally of its own.
   */
  defer: (cleanup: () => unknown) => void;
  /** One progress line on stderr, prefixed with the benchmark's name. */
  log: (message: string) => void;
  /** Aborted on Ctrl-C / SIGTERM; long loops should stop when it is. */
  signal: AbortSignal;
};

export const Benchmark = z.object({
  /** Also the file name: bench/<name>.bench.ts, and the key in bench/results.json. */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
  description: z.string().min(1),
  target: Target.optional(),
  run: z.custom<(context: BenchContext) => Promise<BenchResult>>((value) => typeof value === 'function'),
});
export type Benchmark = z.infer<typeof Benchmark>;

/** Identity with a type: what a bench file exports as its default. */
export const defineBenchmark = (benchmark: Benchmark): Benchmark => benchmark;

/** Whether a result meets its target; undefined when there is no target. */
export function meetsTarget(target: Target | undefined, result: Pick<BenchResult, 'value' | 'ratio'>) {
  if (!target) return undefined;
  const [actual, comparison] = 'ratio' in target ? [result.ratio, target.ratio] : [result.value, target.measured];
  switch (comparison) {
    case '>=':
      return actual >= target.value;
    case '<=':
      return actual <= target.value;
    default: {
      const unreachable: never = comparison;
      throw new Error(`unknown comparison ${String(unreachable)}`);
    }
  }
}

export const describeTarget = (target: Target | undefined): string =>
  !target ? '-' : 'ratio' in target ? `ratio ${target.ratio} ${target.value}` : `${target.measured} ${target.value}`;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Runs `work` and returns how many operations per second it managed. */
export async function ratePerSecond(operations: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (operations / (performance.now() - started)) * 1000;
}

/** Round numbers for the report: 3 significant digits are all a benchmark on a shared machine can claim. */
export const round3 = (value: number): number => Number(value.toPrecision(3));

/** `min–max` of a list of rates, for the notes. */
export const spread = (values: readonly number[]): string =>
  `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;
