import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { BenchResult, describeTarget, meetsTarget, type Target } from './harness.ts';

/*
 * bench/results.json: the latest result of every benchmark, keyed by name. A run that measures some
 * benchmarks replaces their entries and keeps the others, each with the time it was measured.
 */

export const StoredResult = BenchResult.extend({ measuredAt: z.iso.datetime({ offset: true }) });
export type StoredResult = z.infer<typeof StoredResult>;

export const ResultsFile = z.record(z.string(), StoredResult);
export type ResultsFile = z.infer<typeof ResultsFile>;

/**
 * The results stored so far; empty when there is no file yet. A file that does not parse is reported and
 * ignored rather than fatal: losing old numbers must not stop new ones from being taken.
 */
export async function readResults(path: string, warn: (message: string) => void): Promise<ResultsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    warn(`${path} is not JSON; its results are dropped`);
    return {};
  }
  const parsed = ResultsFile.safeParse(json);
  if (parsed.success) return parsed.data;
  // Keep the entries that still parse; drop only the broken ones.
  const kept: ResultsFile = {};
  for (const [name, entry] of Object.entries(json && typeof json === 'object' ? json : {})) {
    const result = StoredResult.safeParse(entry);
    if (result.success) kept[name] = result.data;
    else warn(`${path}: the entry "${name}" does not parse; it is dropped`);
  }
  return kept;
}

/** The old results with this run's replacing theirs, sorted by name so the file diffs well. */
export function mergeResults(previous: ResultsFile, fresh: ResultsFile): ResultsFile {
  const merged = { ...previous, ...fresh };
  return Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((name) => [name, merged[name] as StoredResult]),
  );
}

/** Writes through a temporary file and a rename, so an interrupted write never leaves half a file. */
export async function writeResults(path: string, results: ResultsFile): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(results, null, 2)}\n`);
  await rename(temporary, path);
}

const formatNumber = (value: number): string =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3)));

/** The results as a text table; `fresh` names the rows measured by this run, the others show their date. */
export function formatTable(
  results: ResultsFile,
  targets: ReadonlyMap<string, Target | undefined>,
  fresh: ReadonlySet<string>,
): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'ok', 'measured'];
  const rows = Object.entries(results).map(([name, result]) => {
    const target = targets.get(name);
    const ok = meetsTarget(target, result);
    return [
      name,
      formatNumber(result.value),
      result.unit,
      formatNumber(result.baseline),
      result.ratio.toFixed(2),
      describeTarget(target),
      ok === undefined ? '-' : ok ? 'ok' : 'miss',
      fresh.has(name) ? 'this run' : result.measuredAt.slice(0, 16).replace('T', ' '),
    ];
  });
  const numeric = new Set([1, 3, 4]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
