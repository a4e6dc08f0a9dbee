import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AddNodeResult, NodeView } from '@agentpod/contracts';
import { BOOTSTRAP_HEADER } from '@agentpod/contracts';
import { buildApp } from '@agentpod/gateway';
import { identityService } from '@agentpod/identity';
import { createLogger } from '@agentpod/kit';
import { ensureTestImages, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import { monitorService } from '@agentpod/monitor';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureConsoleBuilt, launchChromium, recordErrors } from '../web/testing/chromium.ts';
import { type AgentHost, agentCommand, type RunningAgent, runAgent } from './support/agent.ts';
import { containersOf, docker, removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { mailedLink } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, type Stack, startStack, tempDir } from './support/stack.ts';

/*
 * The web console in the machine's Chromium against the whole stack: NATS, PostgreSQL, identity, tenants, pods
 * and the reconciler, the gateway on a real port serving the built console, a real agent on the real Docker
 * Engine, and an SMTP sink that catches the sign-in links. One story, in order. Screenshots of each page go to
 * test-artifacts/console/ (AGENTPOD_UPDATE_SCREENSHOTS=1 also copies the README's two to docs/screenshots/).
 *
 * Like e2e/pods.test.ts, run it while no other control plane with an agent (`npm start`) shares this engine: such
 * an agent would see this test's containers as orphans.
 */

const run = randomBytes(3).toString('hex');
const TENANT = `console-${run}`;
const NODE = `node-${run}`;
const ADMIN = 'admin@console.test';
const VIEWER = 'viewer@console.test';
const PORT_LOW = 32_500 + Math.floor(Math.random() * 2_500);
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/console/', import.meta.url));
const README_SHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const LIVE_WAIT_MS = 60_000;
const SECRET_VALUE = `s3cr3t-${run}`;
const UPGRADED_REPO = 'agentpod-test/node';
const UPGRADED_TAG = `console-${run}`;
const UPGRADED_IMAGE = `${UPGRADED_REPO}:${UPGRADED_TAG}`;

/** What the page scripts below touch of the browser (the test compiles without the DOM's types). */
type InPage = {
  document: { cookie: string; documentElement: { scrollWidth: number } };
  innerWidth: number;
  stillTheSamePage?: boolean;
};

/** The status of a live-socket upgrade (101 when it upgrades). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/console/live', url), {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web console in Chromium, through the whole stack', () => {
  const cleanup = new Cleanup();
  let stack: Stack;
  let url: string;
  let browser: Browser;
  let admin: { context: BrowserContext; page: Page; errors: string[] };
  let viewer: { context: BrowserContext; page: Page; errors: string[] };
  let agent: RunningAgent | undefined;
  let adminToken = '';
  let gatewayClosed: (() => Promise<unknown>) | undefined;

  const shot = async (page: Page, name: string) => {
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  };
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await http(url, method, path, { token: adminToken, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  /** A person in a browser of their own, signed in through the console with the emailed link. */
  const signIn = async (email: string) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = recordErrors(page);
    await page.goto(url);
    await page.waitForURL(`${url}/sign-in`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('status').getByText(email).waitFor();
    if (email === ADMIN) await shot(page, 'sign-in');
    const link = await mailedLink(stack.smtp as NonNullable<Stack['smtp']>, email, `${url}/auth/callback`);
    await page.goto(link);
    await page.waitForURL(`${url}/`);
    await page.getByRole('heading', { name: /^Overview/ }).waitFor();
    return { context, page, errors };
  };
  const field = (page: Page, name: string) => page.locator(`[data-field="${name}"]`).first();
  /** A step of the story; when it fails, what each browser showed is kept beside the screenshots. */
  const step = (name: string, body: () => Promise<void>) =>
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        const number = name.split('.')[0];
        for (const [who, person] of [
          ['admin', admin],
          ['viewer', viewer],
        ] as const) {
          if (!person) continue;
          await shot(person.page, `failed-${number}-${who}`).catch(() => undefined);
          process.stderr.write(`${who} at ${person.page.url()}; browser errors: ${JSON.stringify(person.errors)}\n`);
        }
        throw error;
      }
    });

  before(async () => {
    ensureConsoleBuilt();
    await ensureTestImages();
    stack = await startStack({
      services: [identityService, tenantsService, podsService, reconcilerService, monitorService],
      listen: true,
      smtp: true,
      env: { AGENTPOD_RECONCILE_INTERVAL_MS: '1000', AGENTPOD_PORT_RANGE: `${PORT_LOW}-${PORT_LOW + 99}` },
    });
    cleanup.add(() => stack.stop());
    cleanup.add(() => gatewayClosed?.());
    cleanup.add(() => removeTenantResources([TENANT]));
    url = stack.url ?? '';

    // The bootstrap secret travels in a header http() does not send.
    const answer = await fetch(`${url}/api/v1/admin/bootstrap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [BOOTSTRAP_HEADER]: stack.bootstrapSecret },
      body: JSON.stringify({ email: ADMIN }),
    });
    assert.equal(answer.status, 201, await answer.clone().text());
    adminToken = ((await answer.json()) as { token: string }).token;

    // A node for the pods: the real agent, joined with the command `node add` answers, seeing only this tenant.
    const dir = await tempDir(cleanup, 'console-e2e');
    const scope = await startDockerScope(dir, [TENANT]);
    cleanup.add(() => scope.stop());
    const host: AgentHost = { stateDir: join(dir, 'agent'), home: join(dir, 'home'), dockerSocket: scope.socketPath };
    const added = await api<AddNodeResult>('POST', '/api/v1/nodes', { name: NODE });
    const [, , joinUrl = '', token = ''] = added.installCommand.split(' ');
    const joined = await agentCommand(host, ['join', joinUrl, token]);
    assert.equal(joined.code, 0, joined.stderr);
    agent = runAgent(host);
    cleanup.add(() => agent?.stop());
    await agent.waitFor(/connected to the control plane/);
    await eventually(async () => {
      assert.equal((await api<NodeView>('GET', `/api/v1/nodes/${NODE}`)).status, 'online');
    }, 20_000);

    browser = await launchChromium();
    cleanup.add(() => browser.close());
  });
  after(() => cleanup.run());

  step('1. sign in with the emailed link; create a tenant', async () => {
    admin = await signIn(ADMIN);
    const { page } = admin;
    await shot(page, 'overview-empty');
    await page.getByRole('link', { name: 'Tenants' }).click();
    await page.getByLabel('Id', { exact: true }).fill(TENANT);
    await page.getByLabel('Name', { exact: true }).fill('Console Test Inc');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('status').getByText(`Created Console Test Inc (${TENANT})`).waitFor();
    assert.equal(await page.locator('#tenant-switcher').inputValue(), TENANT);
    await shot(page, 'tenants');
  });

  step('2. create a pod from the form; it turns running on the page without a reload', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Pods', exact: true }).click();
    await page.getByRole('link', { name: 'Create pod' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Bad Name');
    await page.getByLabel('Image', { exact: true }).fill(TEST_IMAGES.node);
    await page.getByRole('button', { name: 'Create pod' }).click();
    // The contracts' schema refused it in the browser: nothing was sent.
    await page
      .locator('#podId-error')
      .getByText(/lower-case/)
      .waitFor();
    await page.getByLabel('Name', { exact: true }).fill('web');
    await page.getByLabel('Container port', { exact: true }).fill(String(TEST_APP_PORT));
    await shot(page, 'create-pod');
    await page.getByRole('button', { name: 'Create pod' }).click();
    await page.waitForURL(`${url}/pods/${TENANT}/web`);
    assert.match((await field(page, 'access-token').textContent()) ?? '', /^apa_/);
    // Anything the page learns from here on comes over the live socket: a reload would drop this marker.
    await page.evaluate(() => {
      (globalThis as unknown as InPage).stillTheSamePage = true;
    });
    await field(page, 'status').getByText('running').waitFor({ timeout: LIVE_WAIT_MS });
    assert.equal(await page.evaluate(() => (globalThis as unknown as InPage).stillTheSamePage), true);
    await page.locator('.logs').getByText(`listening on ${TEST_APP_PORT}`).waitFor({ timeout: 20_000 });
    await shot(page, 'pod-detail');

    await page.getByRole('link', { name: '← Pods' }).click();
    const row = page.locator(`[data-pod="${TENANT}/web"]`);
    await row.locator('[data-field="status"]').getByText('running').waitFor();
    await shot(page, 'pods');
  });

  step('3. docker kill from outside: the page shows the restart without a reload', async () => {
    const { page } = admin;
    await page.locator(`[data-pod="${TENANT}/web"] a`).click();
    await field(page, 'status').getByText('running').waitFor();
    const before = Number(await field(page, 'restarts').textContent());
    const [container] = await containersOf(TENANT, 'web');
    assert.ok(container, 'the pod has a container');
    await docker.getContainer(container.Id).kill();
    await eventually(
      async () => assert.notEqual(Number(await field(page, 'restarts').textContent()), before, 'restarts'),
      LIVE_WAIT_MS,
      250,
    );
    await field(page, 'status').getByText('running').waitFor({ timeout: LIVE_WAIT_MS });
  });

  step('3b. secrets: masked, revealed for an admin; Upgrade runs a rollout to the new image', async () => {
    const { page } = admin;
    await api('PATCH', `/api/v1/tenants/${TENANT}/pods/web`, { secrets: { API_KEY: SECRET_VALUE } });
    const masked = page.locator('[data-secret="API_KEY"]');
    await masked.getByText('••••••••').waitFor({ timeout: LIVE_WAIT_MS });
    assert.equal(await page.getByText(SECRET_VALUE).count(), 0, 'the value is not on the page before Reveal');
    await page.getByRole('button', { name: 'Reveal secrets' }).click();
    await masked.getByText(SECRET_VALUE).waitFor();
    await page.getByRole('button', { name: 'Hide secrets' }).click();
    await masked.getByText('••••••••').waitFor();

    await docker.getImage(TEST_IMAGES.node).tag({ repo: UPGRADED_REPO, tag: UPGRADED_TAG });
    cleanup.add(() =>
      docker
        .getImage(UPGRADED_IMAGE)
        .remove({ noprune: true })
        .catch(() => undefined),
    );
    await field(page, 'status').getByText('running').waitFor({ timeout: LIVE_WAIT_MS });
    await page.getByRole('button', { name: 'Upgrade', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('New image').fill(UPGRADED_IMAGE);
    await dialog.getByRole('button', { name: 'Upgrade' }).click();
    await page
      .getByRole('status')
      .getByText(`Upgraded to ${UPGRADED_IMAGE}.`)
      .waitFor({ timeout: LIVE_WAIT_MS * 2 });
    await field(page, 'image').getByText(UPGRADED_IMAGE).waitFor({ timeout: LIVE_WAIT_MS });
    const rollouts = await api<{ rollouts: { image: string; status: string }[] }>('GET', '/api/v1/rollouts');
    assert.ok(
      rollouts.rollouts.some((r) => r.image === UPGRADED_IMAGE && r.status === 'succeeded'),
      'the button started a rollout, not a bare update',
    );
  });

  step('4. a viewer sees no action buttons and is refused (403) when calling an action directly', async () => {
    await api('POST', `/api/v1/tenants/${TENANT}/members`, { email: VIEWER, role: 'viewer' });
    const invitation = mailedLink(stack.smtp as NonNullable<Stack['smtp']>, VIEWER, `${url}/invitations/accept`);
    viewer = await signIn(VIEWER);
    const { page } = viewer;
    await page.goto(await invitation);
    await page.waitForURL(`${url}/`);
    await page.goto(`${url}/pods/${TENANT}/web`);
    await field(page, 'status').getByText('running').waitFor();
    for (const name of ['Restart', 'Stop', 'Upgrade', 'Delete', 'Reveal', 'Rotate', 'Reveal secrets']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
    }
    await shot(page, 'pod-detail-viewer');
    await page.getByRole('link', { name: '← Pods' }).click();
    await page.locator(`[data-pod="${TENANT}/web"]`).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Create pod' }).count(), 0);
    const status = await page.evaluate(async (path) => {
      const cookies = (globalThis as unknown as InPage).document.cookie.split('; ');
      const csrf = cookies.find((c) => c.startsWith('agentpod_csrf='))?.split('=')[1] ?? '';
      const response = await fetch(path, { method: 'POST', headers: { 'x-agentpod-csrf': decodeURIComponent(csrf) } });
      return response.status;
    }, `/api/v1/tenants/${TENANT}/pods/web/restart`);
    assert.equal(status, 403);
    const secretsStatus = await page.evaluate(
      async (path) => (await fetch(path)).status,
      `/api/v1/tenants/${TENANT}/pods/web/secrets`,
    );
    assert.equal(secretsStatus, 403, 'a viewer cannot read secret values');
  });

  step('5. the live socket refuses a foreign Origin before upgrading', async () => {
    const cookies = await viewer.context.cookies(url);
    const session = cookies.find((c) => c.name === 'agentpod_session');
    assert.ok(session, 'the viewer holds a session cookie');
    const cookie = `agentpod_session=${session.value}`;
    assert.equal(await upgradeStatus(url, { cookie, origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(url, { cookie, origin: url }), 101);
    assert.equal(await upgradeStatus(url, { origin: url }), 401);
  });

  step('6. every other page renders, at 1280 and at 375 px wide, without errors in the browser console', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.getByRole('link', { name: NODE }).waitFor();
    await page.getByRole('button', { name: 'Add node' }).click();
    await page.getByLabel('Name', { exact: true }).fill(`extra-${run}`);
    await page.getByRole('button', { name: 'Add node' }).click();
    assert.match(
      (await field(page, 'install-command').textContent()) ?? '',
      new RegExp(`^agentpod-agent join ${url} apj_`),
    );
    await shot(page, 'nodes');
    await page.getByRole('link', { name: NODE }).click();
    await page.getByText('Pods on it').waitFor();
    await shot(page, 'node-detail');
    for (const [link, content, name] of [
      ['Members', page.getByRole('cell', { name: VIEWER, exact: true }).first(), 'members'],
      ['API tokens', page.getByRole('heading', { name: 'New token' }), 'tokens'],
      ['Audit log', page.getByRole('cell', { name: 'PodCreated' }).first(), 'audit'],
      ['Overview', page.getByText('PodCreated').first(), 'overview'],
    ] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await content.waitFor();
      await shot(page, name);
    }

    await page.setViewportSize({ width: 375, height: 800 });
    for (const [path, name] of [
      ['/pods', 'pods-375'],
      [`/pods/${TENANT}/web`, 'pod-detail-375'],
    ] as const) {
      await page.goto(`${url}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      const overflow = await page.evaluate(() => {
        const inPage = globalThis as unknown as InPage;
        return inPage.document.documentElement.scrollWidth - inPage.innerWidth;
      });
      assert.ok(overflow <= 0, `${path} is wider than 375 px by ${overflow} px`);
      await shot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    // A first visit's HTML and code, as transferred (compressed): under the 200 kB.
    const fresh = await browser.newContext({ storageState: await admin.context.storageState() });
    const first = await fresh.newPage();
    await first.goto(`${url}/pods`);
    await first.locator(`[data-pod="${TENANT}/web"]`).waitFor();
    const initialBytes = (await first.evaluate(`(() => {
      const [shell] = performance.getEntriesByType('navigation');
      const code = performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.startsWith('/_app/'));
      return shell.transferSize + code.reduce((n, e) => n + e.transferSize, 0);
    })()`)) as number;
    await fresh.close();
    assert.ok(initialBytes > 0 && initialBytes < 200_000, `initial HTML + JS + CSS: ${initialBytes} bytes`);
    assert.deepEqual(admin.errors, []);
    // The viewer's own 403s, asked for on purpose, are the only errors on their side.
    assert.deepEqual(
      viewer.errors.filter((e) => !e.includes('/restart') && !e.includes('/secrets')),
      [],
    );
  });

  step('7. the control plane goes away: a banner; it comes back: the banner goes and live data resumes', async () => {
    const { page } = admin;
    await page.goto(`${url}/pods/${TENANT}/web`);
    await field(page, 'status').getByText('running').waitFor();
    const port = Number(new URL(url).port);
    await stack.app.close();
    await page.getByRole('alert').getByText('The control plane cannot be reached').waitFor({ timeout: 30_000 });
    await shot(page, 'unreachable');
    const again = buildApp({
      nc: stack.nc,
      logger: createLogger('gateway', 'silent'),
      options: { publicUrl: url, bootstrapSecret: stack.bootstrapSecret },
    });
    gatewayClosed = () => again.close();
    await again.listen({ host: '127.0.0.1', port });
    await page
      .getByRole('alert')
      .getByText('The control plane cannot be reached')
      .waitFor({ state: 'detached', timeout: 30_000 });
    // Live again: a change made now reaches the page without a reload.
    await api('POST', `/api/v1/tenants/${TENANT}/pods/web/stop`);
    await field(page, 'status').getByText('stopped').waitFor({ timeout: LIVE_WAIT_MS });
  });

  step('8. delete the pod with confirmation; it leaves the list and Docker', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('This cannot be undone').waitFor();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`${url}/pods`);
    await page.locator(`[data-pod="${TENANT}/web"]`).waitFor({ state: 'detached' });
    await eventually(async () => assert.deepEqual(await containersOf(TENANT, 'web'), []), LIVE_WAIT_MS, 500);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${url}/sign-in`);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    assert.equal(me, 401, 'the session ended');
    if (process.env.AGENTPOD_UPDATE_SCREENSHOTS === '1') {
      await mkdir(README_SHOTS, { recursive: true });
      for (const [shotName, file] of [
        ['overview', 'console-overview.png'],
        ['pod-detail', 'console-pod.png'],
      ] as const) {
        await copyFile(join(ARTIFACTS, `${shotName}.png`), join(README_SHOTS, file));
      }
    }
  });
});
