import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';

/*
 * The console's test tooling, for the whole-stack test (e2e/console.test.ts) and the load benchmark
 * (bench/console-load.bench.ts): the machine's own Chromium driven by playwright-core (no browser is ever
 * downloaded), a console build that is current with its sources, and a record of what the page logs as errors.
 */

export const CHROMIUM = '/usr/bin/chromium';
const WEB = fileURLToPath(new URL('..', import.meta.url));
const BUILD_SHELL = join(WEB, 'build', 'index.html');

/** The newest modification time under `dir` (ms), ignoring nothing: sources only live there. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * Builds the console (web/build) unless a build newer than every source file exists, so a test never drives a
 * stale console. Returns the directory the gateway serves.
 */
export function ensureConsoleBuilt(): string {
  // The console bundles the contracts (schemas, route table, live messages): a change there needs a rebuild too.
  const sources = Math.max(
    newest(join(WEB, 'src')),
    newest(join(WEB, '..', 'packages', 'contracts', 'src')),
    statSync(join(WEB, 'vite.config.ts')).mtimeMs,
  );
  if (!existsSync(BUILD_SHELL) || statSync(BUILD_SHELL).mtimeMs < sources) {
    const vite = join(WEB, '..', 'node_modules', 'vite', 'bin', 'vite.js');
    const built = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: WEB, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`vite build failed:\n${built.stdout}\n${built.stderr}`);
  }
  return join(WEB, 'build');
}

/** Headless Chromium as the issue prescribes: no sandbox (root in a container), no GPU, no background traffic. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Every error a page logs (console errors, failed resources, uncaught exceptions), as text. */
export function recordErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}
