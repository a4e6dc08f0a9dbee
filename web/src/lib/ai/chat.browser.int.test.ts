import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AiStreamChunk, ConversationView, PodView } from '@agentpod/contracts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws';
// The exact CSP the gateway sends with the shell: rendered answers must live with it.
import { shellCsp } from '../../../../services/gateway/src/console/files.ts';
import { ensureConsoleBuilt, launchChromium, recordErrors } from '../../../testing/chromium.ts';

/*
 * The assistant's panel in Chromium, on the built console, against a stand-in gateway (the whole chain with the
 * ai service and a fake provider is e2e/ai.test.ts): a node page (platform admin), the panel opened by Ctrl+J,
 * an answer streamed as NDJSON and rendered as markdown under the console's CSP, raw HTML and javascript: links
 * inert, an error chunk, Stop closing the request, "Run in terminal" typing into the node's terminal without
 * Enter, conversations listed and deleted after a confirmation, the sheet at 375 px.
 */

/** Screenshots of the panel (for people reviewing a change; not compared). */
const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/ai/', import.meta.url));
const NODE = 'n1';
const TENANT = 'acme';
const POD = 'web';
const CSRF = 'csrf-token-for-test';
const now = () => new Date().toISOString();
const id = (prefix: string, n: number) => `${prefix}_${String(n).padStart(20, '0')}`;

const conversations = new Map<string, ConversationView>();
/** What the stand-in saw, for assertions. */
const seen = {
  asks: [] as { body: Record<string, unknown>; csrf: string | undefined }[],
  refusedCsrf: 0,
  /** Answers whose request the browser closed before the end (Stop). */
  closedEarly: 0,
  terminalInput: '',
  deleted: [] as string[],
  diagnoses: 0,
};

let server: Server;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let buildDir: string;
let counter = 0;

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
const fail = (response: ServerResponse, status: number, code: string, message: string) =>
  json(response, status, { error: { code, message } });

async function bodyOf(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
async function serveStatic(path: string, response: ServerResponse) {
  const file = normalize(join(buildDir, path));
  if (file.startsWith(buildDir) && extname(path) !== '') {
    const content = await readFile(file).catch(() => undefined);
    if (!content) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    return void response.end(content);
  }
  const shell = await readFile(join(buildDir, 'index.html'), 'utf8');
  response.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': shellCsp(shell) });
  response.end(shell);
}

const ANSWER = [
  'The agent **cannot reach** its database.\n\n',
  'Check the logs:\n\n```sh\ndocker logs --tail 50 web\n```\n\n',
  'Then try `ping db`. ',
  'Naïve café 🚀 — multi-byte text survives the chunking.',
];
const HOSTILE = 'Log line: <img src=x onerror="window.pwned=1"> and [click me](javascript:window.pwned=2) end.';

/** Streams an answer the way the gateway does, one NDJSON line per chunk, split at odd places on purpose. */
async function answer(request: IncomingMessage, response: ServerResponse, conversation: ConversationView) {
  const body = await bodyOf(request);
  const ask = seen.asks.at(-1);
  if (ask) ask.body = body;
  const message = String(body.message ?? 'diagnose');
  response.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'x-agentpod-conversation': conversation.id,
  });
  response.on('close', () => {
    if (!response.writableEnded) seen.closedEarly += 1;
  });
  const send = async (chunk: AiStreamChunk) => {
    const bytes = Buffer.from(`${JSON.stringify(chunk)}\n`);
    const cut = Math.floor(bytes.length / 2) + 1; // may fall inside a multi-byte character
    response.write(bytes.subarray(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 20));
    response.write(bytes.subarray(cut));
  };
  const content: string[] = [];
  const record = () =>
    conversation.messages?.push(
      {
        id: id('msg', ++counter),
        role: 'user',
        content: message,
        usage: null,
        stopped: false,
        error: null,
        createdAt: now(),
      },
      {
        id: id('msg', ++counter),
        role: 'assistant',
        content: content.join(''),
        usage: { promptTokens: 321, completionTokens: 45 },
        stopped: false,
        error: null,
        createdAt: now(),
      },
    );
  if (message.includes('fail')) {
    await send({
      t: 'error',
      error: { code: 'unavailable', message: 'The AI provider at http://127.0.0.1:9 cannot be reached.' },
    });
    return void response.end();
  }
  if (message.includes('slow')) {
    for (let i = 0; i < 600 && !response.destroyed; i += 1) {
      await send({ t: 'delta', text: `word${i} ` });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return void response.end();
  }
  const parts = message.includes('html') ? [HOSTILE] : ANSWER;
  for (const text of parts) {
    content.push(text);
    await send({ t: 'delta', text });
  }
  record();
  await send({
    t: 'done',
    messageId: id('msg', counter),
    usage: { promptTokens: 321, completionTokens: 45 },
    stopped: false,
    commands: [
      { command: 'docker logs --tail 50 web', explanation: 'the same as the block' },
      { command: 'df -h', explanation: 'disk space' },
    ],
  });
  response.end();
}

function conversationAbout(subject: ConversationView['subject']): ConversationView {
  const conversation: ConversationView = {
    id: id('cnv', ++counter),
    tenantId: TENANT,
    userId: 'u1',
    title: `Conversation ${counter}`,
    subject,
    createdAt: now(),
    updatedAt: now(),
    messages: [],
  };
  conversations.set(conversation.id, conversation);
  return conversation;
}

const podView = (): PodView => ({
  tenantId: TENANT,
  podId: POD,
  nodeId: NODE,
  nodeName: 'node-one',
  generation: 1,
  desired: 'running',
  status: 'failing',
  message: 'exited with code 1, 5 times in 2 minutes',
  health: 'unknown',
  image: 'nginx:1.27',
  ports: [],
  restarts: 5,
  containerId: null,
  spec: {
    image: 'nginx:1.27',
    env: {},
    secretNames: [],
    ports: [],
    limits: { memoryBytes: 268_435_456, cpus: 0.5, pids: 256 },
    restart: 'always',
  },
  createdAt: now(),
  startedAt: null,
  updatedAt: now(),
});

async function handle(request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? '/', base);
  const path = url.pathname;
  const method = request.method ?? 'GET';
  if (!path.startsWith('/api/')) return serveStatic(path, response);
  if (method !== 'GET' && request.headers['x-agentpod-csrf'] !== CSRF) {
    seen.refusedCsrf += 1;
    return fail(response, 403, 'forbidden', 'missing or wrong x-agentpod-csrf header');
  }
  if (path === '/api/v1/me')
    return json(response, 200, {
      principal: { userId: 'u1', email: 'admin@example.com', platformAdmin: true, via: 'session' },
      memberships: [],
    });
  if (path === '/api/v1/tenants')
    return json(response, 200, {
      tenants: [{ id: TENANT, name: 'Acme', status: 'active', createdAt: now(), memberCount: 1, role: 'owner' }],
    });
  if (path === '/api/v1/pods') return json(response, 200, { pods: [] });
  if (path === `/api/v1/nodes/${NODE}`)
    return json(response, 200, {
      id: NODE,
      name: 'node-one',
      tenantId: null,
      status: 'online',
      lastSeenAt: now(),
      facts: null,
      pods: 0,
      reservedMemoryBytes: 0,
      createdAt: now(),
    });
  if (path === `/api/v1/tenants/${TENANT}/pods/${POD}`) return json(response, 200, podView());
  if (path === '/api/v1/events') return json(response, 200, { events: [] });
  if (path === `/api/v1/tenants/${TENANT}/pods/${POD}/diagnose` && method === 'POST') {
    seen.diagnoses += 1;
    return answer(request, response, conversationAbout({ kind: 'pod', tenantId: TENANT, podId: POD }));
  }
  const ai = `/api/v1/tenants/${TENANT}/ai`;
  if (path === `${ai}/ask` && method === 'POST') {
    seen.asks.push({ body: {}, csrf: request.headers['x-agentpod-csrf'] as string | undefined });
    return answer(request, response, conversationAbout({ kind: 'node', nodeId: NODE }));
  }
  if (path === `${ai}/conversations`)
    return json(response, 200, {
      conversations: [...conversations.values()].map(({ messages: _messages, ...rest }) => rest),
    });
  if (path.startsWith(`${ai}/conversations/`)) {
    const conversationId = path.slice(`${ai}/conversations/`.length);
    const conversation = conversations.get(conversationId);
    if (!conversation) return fail(response, 404, 'not_found', 'no such conversation');
    if (method === 'DELETE') {
      conversations.delete(conversationId);
      seen.deleted.push(conversationId);
      return void response.writeHead(204).end();
    }
    return json(response, 200, conversation);
  }
  return fail(response, 404, 'not_found', `no route ${path}`);
}

/** The stand-in shell: records what is typed, echoes it. */
function terminal(ws: ServerSocket) {
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (!binary) {
      const message = JSON.parse(data.toString()) as { t: string };
      if (message.t === 'start') {
        ws.send(JSON.stringify({ t: 'ready', sessionId: 'session-for-test-0001' }));
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('$ ')]));
      }
      return;
    }
    seen.terminalInput += data.toString();
    ws.send(Buffer.concat([Buffer.from([1]), data]));
  });
}

before(async () => {
  buildDir = ensureConsoleBuilt();
  const sockets = new WebSocketServer({ noServer: true });
  server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => fail(response, 500, 'internal', String(error)));
  });
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', base).pathname;
    if (path === '/console/live') {
      sockets.handleUpgrade(request, socket, head, (ws) =>
        ws.send(JSON.stringify({ type: 'ready', platformAdmin: true, tenants: 'all', pods: [] })),
      );
      return;
    }
    if (path === `/api/v1/nodes/${NODE}/terminal`) return sockets.handleUpgrade(request, socket, head, terminal);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await context.addCookies([
    { name: 'agentpod_session', value: 'session', url: base },
    { name: 'agentpod_csrf', value: CSRF, url: base },
  ]);
  page = await context.newPage();
  errors = recordErrors(page);
  await page.addInitScript(() => {
    const violations: string[] = [];
    (window as unknown as { violations: string[] }).violations = violations;
    document.addEventListener('securitypolicyviolation', (event) =>
      violations.push(`${event.violatedDirective}: ${event.blockedURI} ${event.sample}`),
    );
  });
  await page.goto(`${base}/nodes/${NODE}`);
  await page.getByRole('heading', { name: 'node-one' }).waitFor();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function until(condition: () => boolean, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) assert.fail(`not reached within ${limitMs} ms: ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const lastAnswer = () => page.locator('[data-testid="chat-message"][data-role="assistant"]').last();
async function ask(text: string) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
}

describe('the assistant panel in the browser, under the console CSP', () => {
  test('Ctrl+J opens the panel, about this node (a chip that can be removed)', async () => {
    assert.equal(await page.getByTestId('chat-panel').count(), 0);
    await page.keyboard.press('Control+j');
    await page.getByTestId('chat-panel').waitFor();
    assert.match((await page.getByTestId('chat-subject').textContent()) ?? '', /node n1/);
  });

  test('an answer streams in as markdown, with a copyable code block, usage and suggested commands', async () => {
    await ask('What is wrong?');
    await page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="done"]').waitFor();
    const answer = lastAnswer();
    await answer.locator('strong', { hasText: 'cannot reach' }).waitFor();
    await answer.locator('pre code', { hasText: 'docker logs --tail 50 web' }).waitFor();
    assert.match((await answer.textContent()) ?? '', /Naïve café 🚀 — multi-byte text survives the chunking\./);
    assert.match((await answer.getByTestId('chat-usage').textContent()) ?? '', /321 tokens in · 45 tokens out/);
    assert.equal(await page.locator('[data-testid="chat-message"][data-role="user"]').count(), 1);
    // The block's command is not repeated among the suggestions; the other one is listed.
    assert.equal(await answer.locator('.suggested pre', { hasText: 'df -h' }).count(), 1);
    assert.equal(await answer.locator('.suggested pre', { hasText: 'docker logs' }).count(), 0);
    assert.equal(seen.asks[0]?.csrf, CSRF);
    assert.deepEqual(seen.asks[0]?.body, { message: 'What is wrong?', subject: { kind: 'node', nodeId: NODE } });
    await answer.locator('button[data-action="copy"]').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'docker logs --tail 50 web');
  });

  test('raw HTML in an answer stays text and a javascript: link is no link', async () => {
    await ask('show html');
    await page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="done"]').nth(1).waitFor();
    const answer = lastAnswer();
    assert.match((await answer.textContent()) ?? '', /<img src=x onerror="window\.pwned=1">/);
    assert.equal(await answer.locator('img').count(), 0);
    assert.equal(await answer.locator('a').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  });

  test('an error chunk is shown as a clear message in the chat', async () => {
    await ask('fail please');
    const error = page.getByTestId('chat-error').last();
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /cannot be reached/);
  });

  test('Stop ends the answer and closes its request', async () => {
    await ask('slow answer');
    await lastAnswer().locator('.markdown', { hasText: 'word2' }).waitFor();
    await page.getByTestId('chat-stop').click();
    await page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="stopped"]').waitFor();
    await until(() => seen.closedEarly === 1);
    await page.getByTestId('chat-send').waitFor();
  });

  test('"Run in terminal" asks for a terminal first, then types the command without Enter', async () => {
    await page.getByTestId('chat-new').click();
    // Without the chip the question is about nothing in particular; commands still go to this page's node.
    await page.getByRole('button', { name: 'Do not ask about node n1' }).click();
    assert.equal(await page.getByTestId('chat-subject').count(), 0);
    await ask('What is wrong?');
    await page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="done"]').last().waitFor();
    assert.deepEqual(seen.asks.at(-1)?.body, { message: 'What is wrong?', subject: { kind: 'none' } });
    const run = lastAnswer().locator('button[data-action="run"]');
    assert.equal((await run.textContent())?.trim(), 'Open a terminal first');
    await page.getByTestId('workspace-tab-terminal').click();
    await page.locator('[data-testid="terminal-status"][data-phase="ready"]').waitFor();
    await lastAnswer().locator('button[data-action="run"]', { hasText: 'Run in terminal' }).click();
    await until(() => seen.terminalInput.includes('docker logs --tail 50 web'));
    assert.equal(seen.terminalInput, 'docker logs --tail 50 web', 'typed as is, and no Enter');
    await page.locator('[data-testid="terminal"] .xterm-rows', { hasText: '$ docker logs --tail 50 web' }).waitFor();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'panel-1280.png') });
  });

  test('conversations are listed, reopened, and deleted only after a confirmation', async () => {
    await page.getByTestId('chat-conversations').click();
    const rows = page.getByTestId('chat-conversation');
    // The list is reloaded after each answer: wait for the last one's reload rather than race it.
    await page.locator(`[data-testid="chat-conversation"][data-id="${[...conversations.keys()].at(-1)}"]`).waitFor();
    assert.equal(await rows.count(), conversations.size);
    const first = [...conversations.keys()][0] as string;
    await page.locator(`[data-testid="chat-conversation"][data-id="${first}"] .open`).click();
    await page.locator('[data-testid="chat-message"][data-role="assistant"]').first().waitFor();
    await page.getByTestId('chat-conversations').click();
    await page
      .locator(`[data-testid="chat-conversation"][data-id="${first}"]`)
      .getByRole('button', { name: 'Delete' })
      .click();
    assert.deepEqual(seen.deleted, [], 'nothing before the confirmation');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await until(() => seen.deleted.length === 1);
    await page.locator(`[data-testid="chat-conversation"][data-id="${first}"]`).waitFor({ state: 'detached' });
  });

  test('at 375 px the panel is a full-screen sheet with no horizontal overflow; Escape closes it', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    const box = await page.getByTestId('chat-panel').boundingBox();
    assert.deepEqual([box?.x, box?.width], [0, 375]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false);
    await page.screenshot({ path: join(ARTIFACTS, 'panel-375.png') });
    await page.getByTestId('chat-input').press('Escape');
    await page.getByTestId('chat-panel').waitFor({ state: 'detached' });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("Diagnose on a pod page opens the panel and streams the pod's diagnosis into a new conversation", async () => {
    await page.goto(`${base}/pods/${TENANT}/${POD}`);
    await page.getByTestId('diagnose').click();
    await page.getByTestId('chat-panel').waitFor();
    await page.locator('[data-testid="chat-message"][data-role="assistant"][data-status="done"]').waitFor();
    assert.equal(seen.diagnoses, 1);
    assert.equal(await page.locator('[data-testid="chat-message"]').count(), 2);
    assert.match((await page.getByTestId('chat-subject').textContent()) ?? '', /pod acme\/web/);
    assert.equal(
      await page.getByRole('button', { name: /Do not ask about/ }).count(),
      0,
      "a conversation's subject stays",
    );
    await page.getByTestId('chat-toggle').click();
    await page.getByTestId('chat-panel').waitFor({ state: 'detached' });
  });

  test('no CSP violation and no console error along the way', async () => {
    const violations = await page.evaluate(() => (window as unknown as { violations: string[] }).violations);
    // zod probes `Function('')` once when the contracts are first evaluated (see workspace.browser.int.test.ts).
    assert.deepEqual(
      violations.filter((violation) => !/^script-src: eval /.test(violation)),
      [],
    );
    assert.deepEqual(
      errors.filter((error) => !/Failed to load resource.*404/.test(error)),
      [],
    );
    assert.equal(seen.refusedCsrf, 0);
  });
});
