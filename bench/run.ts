import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchContext, Benchmark, BenchResult, type Target } from './harness.ts';
import { formatTable, mergeResults, type ResultsFile, readResults, writeResults } from './results.ts';

/*
 * `npm run bench [-- <name>...]`: runs every benchmark in bench/*.bench.ts (or the named ones), merges their
 * results into bench/results.json and prints the table. A benchmark is a file: bench/<name>.bench.ts whose
 * default export is `defineBenchmark({ name, description, target, run })`.
 *
 * Targets are reported (ok / miss), never enforced: the exit code is 1 only when a benchmark crashed, 2 when
 * the command line names no such benchmark.
 */

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(benchDir, 'results.json');
const SUFFIX = '.bench.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);
const reason = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

/** Every benchmark file's name (the part before .bench.ts), sorted. */
const available = (): string[] =>
  readdirSync(benchDir)
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => file.slice(0, -SUFFIX.length))
    .sort();

async function load(name: string): Promise<Benchmark> {
  const module = (await import(pathToFileURL(join(benchDir, `${name}${SUFFIX}`)).href)) as { default?: unknown };
  const parsed = Benchmark.safeParse(module.default);
  if (!parsed.success) {
    throw new Error(`bench/${name}${SUFFIX}: the default export is not a benchmark: ${parsed.error.message}`);
  }
  if (parsed.data.name !== name) {
    throw new Error(`bench/${name}${SUFFIX} declares the name "${parsed.data.name}"; it must match the file name`);
  }
  return parsed.data;
}

/** Clean-ups of the benchmark running now; also run by the signal handler, so each runs at most once. */
let pendingCleanups: (() => unknown)[] = [];

async function runCleanups(log: (message: string) => void): Promise<void> {
  for (let cleanup = pendingCleanups.pop(); cleanup; cleanup = pendingCleanups.pop()) {
    try {
      await cleanup();
    } catch (error) {
      log(`clean-up failed (something may be left behind): ${reason(error)}`);
    }
  }
}

const interrupted = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted.signal.aborted) process.exit(130);
    interrupted.abort();
    say(`\n${signal}: cleaning up (again to quit at once)`);
    void runCleanups(say).then(() => process.exit(130));
  });
}

async function runOne(benchmark: Benchmark): Promise<BenchResult> {
  const log = (message: string) => say(`[${benchmark.name}] ${message}`);
  const context: BenchContext = {
    defer: (cleanup) => pendingCleanups.push(cleanup),
    log,
    signal: interrupted.signal,
  };
  pendingCleanups = [];
  const started = performance.now();
  log(benchmark.description);
  try {
    const result = BenchResult.parse(await benchmark.run(context));
    log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } finally {
    await runCleanups(log);
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { list: { type: 'boolean', default: false } },
  });
  const names = available();
  const unknown = positionals.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    say(`no benchmark named ${unknown.join(', ')}; there are: ${names.join(', ')}`);
    return 2;
  }
  const selected = positionals.length > 0 ? [...new Set(positionals)] : names;

  // Every file is loaded (not only the selected ones) to know the targets of the rows kept from earlier runs.
  const benchmarks = new Map<string, Benchmark>();
  const crashed: string[] = [];
  for (const name of names) {
    try {
      benchmarks.set(name, await load(name));
    } catch (error) {
      say(reason(error));
      if (selected.includes(name)) crashed.push(name);
    }
  }
  if (values.list) {
    for (const [name, benchmark] of benchmarks) process.stdout.write(`${name.padEnd(24)} ${benchmark.description}\n`);
    return crashed.length > 0 ? 1 : 0;
  }

  const fresh: ResultsFile = {};
  for (const name of selected) {
    const benchmark = benchmarks.get(name);
    if (!benchmark || interrupted.signal.aborted) continue;
    try {
      fresh[name] = { ...(await runOne(benchmark)), measuredAt: new Date().toISOString() };
    } catch (error) {
      say(`[${name}] crashed: ${reason(error)}`);
      crashed.push(name);
    }
  }

  // Read just before writing, so results another run stored meanwhile are kept too.
  const results = mergeResults(await readResults(resultsPath, say), fresh);
  await writeResults(resultsPath, results);
  const targets = new Map<string, Target | undefined>([...benchmarks].map(([name, b]) => [name, b.target]));
  process.stdout.write(`\n${formatTable(results, targets, new Set(Object.keys(fresh)))}\n\n`);
  process.stdout.write(`results: ${resultsPath}\n`);
  if (crashed.length > 0) say(`crashed: ${crashed.join(', ')}`);
  return crashed.length > 0 ? 1 : 0;
}

process.exit(await main());
