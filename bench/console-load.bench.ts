import { startSmtpSink } from '@agentpod/kit/testing';
import type { Browser, BrowserContext } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium } from '../web/testing/chromium.ts';
import { defineBenchmark, round3 } from './harness.ts';
import { startStack } from './support/stack.ts';
import { inParallel, percentile } from './support/wait.ts';

/*
 * The console's pods page with 1,000 pods, in headless Chromium, against the raw JSON of the same pods from the
 * same gateway in the same run. Each round is a fresh browser context (nothing cached, the session cookie
 * kept). "First meaningful paint" is when the first pod rows of the list are painted (the console's own
 * performance mark, set in a task queued from the animation frame that renders them), from the navigation's start; the baseline is the moment the body of `GET /api/v1/pods` has fully
 * arrived when the browser navigates to it. Bytes are what went over the wire: Resource Timing transfer sizes
 * (the shell, scripts, styles and REST answers, headers included) plus the live socket's frames, which carry the
 * pods list.
 *
 * The stack runs as `npm start` runs it (bench/support/stack.ts: every service, the gateway and an agent as
 * processes from dist/, so run `npm run build` first), with an SMTP sink for the sign-in link. The pods are
 * recorded on a node that never joins, so they stay pending and no container is started: the page is measured,
 * not Docker.
 */

const PODS = 1_000;
const ROUNDS = 5;
const CONCURRENCY = 8;
const NODE = 'parked';
/** The admin bench/support/stack.ts bootstraps. */
const BENCH_EMAIL = 'bench@example.com';

type Sample = { ms: number; bytes: number };
type PageSample = Sample & {
  fcp: number;
  initialBytes: number;
  apiBytes: number;
  socketBytes: number;
  rows: number;
  /** When each step of the first load ended, for the log. */
  steps: string;
};

/*
 * What each page reports about itself, run in the browser (as source text: this file compiles without the DOM's
 * types). Times are from the navigation's start; sizes are transfer sizes (headers + encoded body).
 */
const MEASURE_JSON = `(() => {
  const [navigation] = performance.getEntriesByType('navigation');
  return { ms: navigation.responseEnd, bytes: navigation.transferSize };
})()`;

const MEASURE_PAGE = `(() => {
  const mark = performance.getEntriesByName('agentpod:pods-painted')[0];
  const painted = mark ? mark.startTime : Number.NaN;
  const [navigation] = performance.getEntriesByType('navigation');
  const resources = performance.getEntriesByType('resource');
  const sum = (entries) => entries.reduce((n, entry) => n + entry.transferSize, 0);
  const code = resources.filter((entry) => new URL(entry.name).pathname.startsWith('/_app/'));
  const api = resources.filter((entry) => entry.name.includes('/api/v1/'));
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const at = (name) => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? -1);
  const ended = (path) => Math.round(resources.find((entry) => entry.name.includes(path))?.responseEnd ?? -1);
  const scripts = Math.round(Math.max(0, ...resources.filter((e) => e.name.includes('/_app/')).map((e) => e.responseEnd)));
  return {
    ms: painted,
    bytes: navigation.transferSize + sum(resources),
    fcp: fcp ? fcp.startTime : Number.NaN,
    initialBytes: navigation.transferSize + sum(code),
    apiBytes: sum(api),
    rows: document.querySelectorAll('[data-pod]').length,
    steps: 'shell ' + Math.round(navigation.responseEnd) + ', code ' + scripts + ', /me ' + ended('/api/v1/me') +
      ', live ready ' + at('agentpod:live-ready') + ', rows painted ' + at('agentpod:pods-painted') + ' ms',
  };
})()`;

const median = (values: readonly number[]) => percentile(values, 0.5);
const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;

async function jsonRound(
  browser: Browser,
  url: string,
  storageState: Awaited<ReturnType<BrowserContext['storageState']>>,
) {
  const context = await browser.newContext({ storageState });
  try {
    const page = await context.newPage();
    const response = await page.goto(`${url}/api/v1/pods`);
    if (response?.status() !== 200) throw new Error(`GET /api/v1/pods answered ${response?.status()}`);
    return (await page.evaluate(MEASURE_JSON)) as Sample;
  } finally {
    await context.close();
  }
}

async function pageRound(
  browser: Browser,
  url: string,
  storageState: Awaited<ReturnType<BrowserContext['storageState']>>,
) {
  const context = await browser.newContext({ storageState, viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    // The live socket's frames are not in Resource Timing: counted as they arrive (text frames, uncompressed).
    let socketBytes = 0;
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => {
        socketBytes += Buffer.byteLength(frame.payload);
      });
    });
    await page.goto(`${url}/pods`);
    await page.locator('[data-pod]').first().waitFor({ timeout: 30_000 });
    // The console marks the paint of its first rows (web/src/routes/pods/PodTable.svelte) a frame later.
    await page.waitForFunction(`performance.getEntriesByName('agentpod:pods-painted').length > 0`);
    const sample = (await page.evaluate(MEASURE_PAGE)) as PageSample;
    return { ...sample, socketBytes, bytes: sample.bytes + socketBytes };
  } finally {
    await context.close();
  }
}

export default defineBenchmark({
  name: 'console-load',
  description: `console pods page with ${PODS} pods in headless Chromium: first meaningful paint (ms) vs the raw JSON API call`,
  target: { measured: '<=', value: 1_000 },
  async run(context) {
    const { defer, log, signal } = context;
    ensureConsoleBuilt();
    const smtp = await startSmtpSink();
    defer(() => smtp.stop());
    const stack = await startStack(context, { env: { AGENTPOD_SMTP_URL: smtp.url } });
    const { api, url, tenantId } = stack;
    await api.call('addNode', { body: { name: NODE } });
    const created = performance.now();
    const ids = Array.from({ length: PODS }, (_, i) => `pod-${String(i).padStart(4, '0')}`);
    await inParallel(
      ids,
      CONCURRENCY,
      (podId) =>
        api.call('createPod', {
          params: { tenant: tenantId },
          body: { podId, spec: { image: 'nginx:1.27' }, node: NODE },
        }),
      signal,
    );
    log(`${PODS} pods recorded in ${Math.round(performance.now() - created)} ms`);

    // Signed in as the console's users are: the link from the email.
    await fetch(`${url}/api/v1/auth/magic-link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: BENCH_EMAIL }),
    });
    const mail = await smtp.next(BENCH_EMAIL, 20_000);
    const signInLink = mail.text.match(/https?:\/\/\S+\/auth\/callback#token=\S+/)?.[0];
    if (!signInLink) throw new Error(`no sign-in link in the email: ${mail.text}`);

    const browser = await launchChromium();
    defer(() => browser.close());
    const signIn = await browser.newContext();
    const page = await signIn.newPage();
    await page.goto(signInLink);
    await page.waitForURL(`${url}/`);
    const storageState = await signIn.storageState();
    await signIn.close();

    // One round of each first, not counted: the gateway's and the services' code paths warm up.
    await jsonRound(browser, url, storageState);
    await pageRound(browser, url, storageState);
    const json: Sample[] = [];
    const pages: PageSample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (signal.aborted) throw new Error('interrupted');
      json.push(await jsonRound(browser, url, storageState));
      pages.push(await pageRound(browser, url, storageState));
    }
    for (const sample of pages) log(sample.steps);
    const fmp = median(pages.map((p) => p.ms));
    const jsonMs = median(json.map((j) => j.ms));
    const first = pages[0] as PageSample;
    log(`first meaningful paint ${Math.round(fmp)} ms (rounds: ${pages.map((p) => Math.round(p.ms)).join(', ')})`);
    log(`raw JSON ${Math.round(jsonMs)} ms (rounds: ${json.map((j) => Math.round(j.ms)).join(', ')})`);
    return {
      value: Math.round(fmp),
      unit: 'ms to first pod row painted (baseline: ms to the JSON body)',
      baseline: Math.round(jsonMs),
      ratio: round3(jsonMs / fmp),
      notes:
        `${PODS} pods (pending, one node that never joined), ${ROUNDS} rounds after one warm-up, medians, each round ` +
        `a fresh browser context. Console /pods: first row painted at ${Math.round(fmp)} ms ` +
        `(first contentful paint ${Math.round(median(pages.map((p) => p.fcp)))} ms), ${first.rows} rows rendered ` +
        `of ${PODS} (virtualised), ${kb(median(pages.map((p) => p.bytes)))} kB transferred in all, of which the ` +
        `shell + scripts + styles ${kb(median(pages.map((p) => p.initialBytes)))} kB (gzip), REST answers ` +
        `${kb(median(pages.map((p) => p.apiBytes)))} kB and the live socket's frames (the pods come with its ready) ` +
        `${kb(median(pages.map((p) => p.socketBytes)))} kB. Raw GET /api/v1/pods in the same browser: body complete at ` +
        `${Math.round(jsonMs)} ms, ${kb(median(json.map((j) => j.bytes)))} kB (the API is not compressed). ` +
        'Ratio: JSON time / page time (higher is better).',
    };
  },
});
