import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type DebianPackage, ensureDocker, ensureNats, ensurePackages } from './deps.ts';
import { readStackEnv } from './env.ts';
import { ensurePostgres } from './postgres.ts';
import { describeFailure, repoRoot, StepError } from './proc.ts';

/*
 * `npm test`: every test file in the repository through node's test runner (TypeScript via tsx, workspace
 * packages resolved to their sources with the `development` condition). Integration tests start their own
 * nats-server on a random port and create their own databases, so this only makes sure the nats-server
 * binary exists, PostgreSQL accepts logins and the Docker Engine runs; unit tests need none of that.
 *
 *   npm test [-- --tier unit|int|e2e] [-- <path filter>...]
 *
 * The exit code is the test runner's; finding no test file at all is a failure, so CI never passes on nothing.
 */

const PATTERNS = [
  'packages/*/src/**/*.test.ts',
  'services/*/src/**/*.test.ts',
  'agent/src/**/*.test.ts',
  'web/src/**/*.test.ts',
  'infra/**/*.test.ts',
  'e2e/**/*.test.ts',
];

const TIERS = {
  unit: (file: string) => file.endsWith('.unit.test.ts'),
  int: (file: string) => file.endsWith('.int.test.ts'),
  e2e: (file: string) => file.startsWith('e2e/'),
} as const;
type Tier = keyof typeof TIERS;
const isTier = (value: string): value is Tier => Object.hasOwn(TIERS, value);

/** Test files, relative to the repository root, sorted. */
export function findTestFiles(tier: Tier | undefined, filters: readonly string[]): string[] {
  const all = globSync(PATTERNS, { cwd: repoRoot, exclude: (path) => path.split(/[\\/]/).includes('node_modules') });
  return [...new Set(all.map((file) => file.replaceAll('\\', '/')))]
    .filter((file) => !tier || TIERS[tier](file))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort();
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return number;
}

/** What the chosen files need on this machine, installed and started when missing. */
async function ensureTestDependencies(files: readonly string[], install: boolean): Promise<void> {
  if (files.every(TIERS.unit)) return;
  const e2e = files.some(TIERS.e2e);
  const packages: DebianPackage[] = [
    'nats-server',
    'postgresql',
    'docker.io',
    'caddy',
    ...(e2e ? ['chromium' as const] : []),
  ];
  await ensurePackages(packages, { install });
  const env = readStackEnv();
  await ensureNats(env.natsUrl, 'binary');
  await ensurePostgres(env.testDatabaseUrl);
  await ensureDocker();
}

function runTests(files: readonly string[], concurrency: number, timeoutMs: number): Promise<number> {
  const args = [
    '--conditions=development',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeoutMs}`,
    ...files,
  ];
  process.stdout.write(`[test] node ${args.slice(0, 7).join(' ')} <${files.length} files>\n`);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: 'inherit' });
  // A Ctrl-C reaches the runner directly (same process group); a SIGTERM sent to us alone is passed on.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => {});
  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`[test] could not start the test runner: ${error.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { tier: { type: 'string' }, 'no-install': { type: 'boolean', default: false } },
  });
  const tier = values.tier;
  if (tier !== undefined && !isTier(tier))
    throw new Error(`--tier must be one of ${Object.keys(TIERS).join(', ')}, got "${tier}"`);
  const concurrency = positiveInteger('AGENTPOD_TEST_CONCURRENCY', process.env.AGENTPOD_TEST_CONCURRENCY, 2);
  const timeoutMs = positiveInteger('AGENTPOD_TEST_TIMEOUT_MS', process.env.AGENTPOD_TEST_TIMEOUT_MS, 300_000);

  const files = findTestFiles(tier, positionals);
  if (files.length === 0) {
    const what = [tier && `tier ${tier}`, positionals.length > 0 && `filters ${positionals.join(' ')}`].filter(Boolean);
    process.stderr.write(
      `[test] WARNING: no test files found${what.length ? ` for ${what.join(', ')}` : ''} (looked for ${PATTERNS.join(', ')}).\n` +
        '[test] Failing on purpose: a test run that runs nothing must not pass.\n',
    );
    return 1;
  }
  const untiered = files.filter((file) => !Object.values(TIERS).some((inTier) => inTier(file)));
  if (untiered.length > 0) {
    process.stdout.write(
      `[test] note: not named *.unit.test.ts, *.int.test.ts or under e2e/: ${untiered.join(', ')}\n`,
    );
  }
  await ensureTestDependencies(files, !values['no-install']);
  return runTests(files, concurrency, timeoutMs);
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(
      `${error instanceof StepError ? describeFailure(error) : `[test] ${(error as Error).message}`}\n`,
    );
    process.exitCode = 1;
  }
}
