import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import type { AiStreamChunk, ConversationView, GenerateResult, NodeView } from '@agentpod/contracts';
import { runCli, useFakeGateway } from '../test/fake-gateway.ts';

/* `agentpod ai …` against a stand-in gateway: what is sent, what is printed where, the exit code. */

const CONVERSATION = `cnv_${'a'.repeat(24)}`;
const MESSAGE = `msg_${'b'.repeat(24)}`;
const NODE_ID = `nod_${'c'.repeat(24)}`;
const ASK = 'POST /api/v1/tenants/acme/ai/ask';
const done = (extra: Partial<Extract<AiStreamChunk, { t: 'done' }>> = {}): AiStreamChunk => ({
  t: 'done',
  messageId: MESSAGE,
  usage: { promptTokens: 120, completionTokens: 8 },
  stopped: false,
  commands: [],
  ...extra,
});
const line = (chunk: unknown) => `${JSON.stringify(chunk)}\n`;
const startStream = (response: ServerResponse) =>
  response.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-agentpod-conversation': CONVERSATION });

const conversation: ConversationView = {
  id: CONVERSATION,
  tenantId: 'acme',
  userId: 'usr_admin0000000000000000',
  title: 'why does web restart',
  subject: { kind: 'pod', tenantId: 'acme', podId: 'web' },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:01:00.000Z',
  messages: [
    {
      id: `msg_${'d'.repeat(24)}`,
      role: 'user',
      content: 'why does web restart',
      usage: null,
      stopped: false,
      error: null,
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    {
      id: MESSAGE,
      role: 'assistant',
      content: 'It runs out of memory.\n\u001b[31mred\u001b[0m',
      usage: { promptTokens: 120, completionTokens: 8 },
      stopped: false,
      error: null,
      createdAt: '2026-01-01T00:00:05.000Z',
    },
  ],
};

const generated: GenerateResult = {
  pods: [
    {
      body: {
        tenantId: 'acme',
        podId: 'n8n',
        spec: {
          image: 'n8nio/n8n:1.80.0',
          env: { N8N_HOST: 'n8n.example.com', GREETING: "it's here" },
          secretNames: ['DB_PASSWORD'],
          ports: [{ containerPort: 5678, protocol: 'tcp', public: false }],
          volume: { mountPath: '/home/node/.n8n' },
          limits: { memoryBytes: 1024 * 1024 * 1024, cpus: 1, pids: 256 },
          health: {
            type: 'http',
            path: '/healthz',
            intervalSeconds: 10,
            timeoutSeconds: 3,
            failureThreshold: 3,
            startGraceSeconds: 30,
          },
          restart: 'always',
          cmd: ['n8n', 'start', '--tunnel name'],
        },
        secrets: {},
      },
      notes: 'n8n keeps its data in /home/node/.n8n.',
    },
  ],
  refused: [{ podId: 'postgres', reason: 'host mounts are refused: /var/lib/postgresql on the host' }],
  usage: { promptTokens: 300, completionTokens: 200 },
};

describe('agentpod ai against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('ask streams the answer to stdout as it comes; suggestions and tokens go to stderr', async () => {
    let held: ServerResponse | undefined;
    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.write(line({ t: 'delta', text: 'Hel' }));
      held = response;
    });
    let sent = false;
    const result = await runCli(['ai', 'ask', '--pod', 'acme/web', 'why', 'does it restart?'], {
      env: suite.env,
      onStdout: (soFar) => {
        // The second part is written only once the first was printed: the CLI does not wait for the end.
        if (!sent && soFar.includes('Hel')) {
          sent = true;
          held?.write(line({ t: 'delta', text: 'lo \u001b[2Jworld' }));
          held?.end(line(done({ commands: [{ command: 'free -m', explanation: 'memory left' }] })));
        }
      },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Hello \\u{1b}[2Jworld\n', 'escapes are shown, never obeyed');
    assert.match(result.stderr, /Suggested commands \(nothing was run[^\n]*\n {2}\$ free -m\n {6}memory left\n/);
    assert.match(
      result.stderr,
      /tokens: 120 in, 8 out · conversation cnv_a+ \(continue: agentpod ai ask --tenant acme --conversation cnv_a+/,
    );
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      message: 'why does it restart?',
      subject: { kind: 'pod', tenantId: 'acme', podId: 'web' },
    });
  });

  test('Ctrl-C stops the answer: the request is closed and the exit code is 130', async () => {
    let closed = false;
    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.write(line({ t: 'delta', text: 'thinking' }));
      response.on('close', () => {
        closed = true;
      });
    });
    let interrupted = false;
    const result = await runCli(['ai', 'ask', '--tenant', 'acme', 'hello'], {
      env: suite.env,
      // Once: the CLI prints more (a newline) after Ctrl-C, and a second SIGINT would kill it.
      interruptWhen: (soFar) => {
        if (interrupted || !soFar.includes('thinking')) return false;
        interrupted = true;
        return true;
      },
    });
    assert.equal(result.code, 130, result.stderr);
    assert.equal(result.stdout, 'thinking\n');
    assert.match(result.stderr, /\(stopped\)/);
    for (let i = 0; i < 100 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(closed, 'the gateway saw the request go');
  });

  test("the provider's error ends the answer: its message on stderr, exit 1; --json is NDJSON", async () => {
    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.write(line({ t: 'delta', text: 'Part' }));
      response.end(line({ t: 'error', error: { code: 'unavailable', message: 'the provider at http://x is down' } }));
    });
    const failed = await cli('ai', 'ask', '--tenant', 'acme', '--conversation', CONVERSATION, 'more');
    assert.deepEqual(failed, { code: 1, stdout: 'Part\n', stderr: 'agentpod: the provider at http://x is down\n' });
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      message: 'more',
      subject: { kind: 'none' },
      conversationId: CONVERSATION,
    });

    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.write(line({ t: 'delta', text: 'Hi' }));
      response.end(line(done()));
    });
    const json = await cli('ai', 'ask', '--tenant', 'acme', 'hi', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((text) => JSON.parse(text)),
      [
        { t: 'delta', text: 'Hi' },
        { ...done(), conversationId: CONVERSATION },
      ],
    );

    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.end(line({ t: 'delta', text: 'cut off' }));
    });
    const cut = await cli('ai', 'ask', '--tenant', 'acme', 'hi');
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /ended before the answer did/);
  });

  test('ask: a node by name is looked up; bad combinations fail locally (exit 2, nothing sent)', async () => {
    suite.gateway.on('GET /api/v1/nodes/edge-1', () => ({
      status: 200,
      body: {
        id: NODE_ID,
        name: 'edge-1',
        tenantId: null,
        status: 'online',
        lastSeenAt: null,
        facts: null,
        pods: 0,
        reservedMemoryBytes: 0,
        createdAt: '2026-01-01T00:00:00.000Z',
      } satisfies NodeView,
    }));
    suite.gateway.on(ASK, (_request, response) => {
      startStream(response);
      response.end(line(done()));
    });
    const node = await cli('ai', 'ask', '--tenant', 'acme', '--node', 'edge-1', 'is the disk full?');
    assert.equal(node.code, 0, node.stderr);
    assert.deepEqual((suite.gateway.requests[1]?.body as { subject?: unknown } | undefined)?.subject, {
      kind: 'node',
      nodeId: NODE_ID,
    });

    suite.gateway.reset();
    const cases = [
      [['ai', 'ask', 'hello'], /give --tenant T/],
      [['ai', 'ask', '--pod', 'acme/web', '--node', 'edge-1', 'x'], /not both/],
      [['ai', 'ask', '--pod', 'acme/web', '--tenant', 'globex', 'x'], /not the tenant of --pod/],
      [['ai', 'ask', '--tenant', 'acme', '--conversation', 'nope', 'x'], /invalid --conversation/],
      [['ai', 'ask', '--tenant', 'acme', ' '], /<question> is empty/],
      [['ai', 'conversations', 'show', 'nope', '--tenant', 'acme'], /must be a conversation id/],
      [['ai', 'config', '--tenant', 'acme', '--api-key', 'k', '--clear-key'], /not both/],
      [['ai', 'config', '--tenant', 'acme', '--reset', '--model', 'm'], /give it alone/],
    ] as const;
    for (const [args, message] of cases) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.equal(suite.gateway.requests.length, 0);
  });

  test('diagnose streams the diagnosis of the pod', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/pods/web/diagnose', (_request, response) => {
      startStream(response);
      response.write(line({ t: 'delta', text: 'It exits with code 1: a missing variable.' }));
      response.end(line(done({ commands: [{ command: 'env | grep DB_', explanation: '' }] })));
    });
    const result = await cli('ai', 'diagnose', 'acme/web');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'It exits with code 1: a missing variable.\n');
    assert.match(result.stderr, /\$ env \| grep DB_\n/);
  });

  test('generate shows bodies, create commands and refusals; nothing is created', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/ai/generate', () => ({ status: 200, body: generated }));
    const result = await cli('ai', 'generate', '--tenant', 'acme', 'an', 'n8n with PostgreSQL');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { prompt: 'an n8n with PostgreSQL' });
    assert.equal(suite.gateway.requests.length, 1, 'no pod was created');
    assert.match(result.stdout, /^1 pod generated; nothing was created\./);
    assert.match(
      result.stdout,
      new RegExp(
        String.raw`agentpod pod create acme/n8n --image n8nio/n8n:1\.80\.0 --port 5678 --env N8N_HOST=n8n\.example\.com ` +
          String.raw`--env 'GREETING=it'\\''s here' --secret DB_PASSWORD --memory 1g --cpus 1 --volume /home/node/\.n8n ` +
          String.raw`--cmd 'n8n start '\\''--tunnel name'\\''' --health http:/healthz`,
      ),
    );
    assert.match(result.stdout, /Refused by the security policy:\n {2}postgres: host mounts are refused/);
    assert.match(result.stdout, /tokens: 300 in, 200 out/);

    const json = await cli('ai', 'generate', '--tenant', 'acme', 'x', '--json');
    assert.deepEqual(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout).refused, generated.refused);
  });

  test('config: shown without changes; set with the key from stdin; cleared; reset', async () => {
    const view = { source: 'tenant', baseUrl: 'http://llm.example.com/v1', model: 'qwen2.5', hasApiKey: true };
    suite.gateway.on('GET /api/v1/tenants/acme/ai/config', () => ({ status: 200, body: view }));
    suite.gateway.on('PATCH /api/v1/tenants/acme/ai/config', () => ({ status: 200, body: view }));
    const shown = await cli('ai', 'config', '--tenant', 'acme');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /source +the tenant's own\nbase url +http:\/\/llm\.example\.com\/v1\nmodel +qwen2\.5\napi key +set \(never shown\)/,
    );

    const set = await runCli(
      [
        'ai',
        'config',
        '--tenant',
        'acme',
        '--base-url',
        'http://llm.example.com/v1',
        '--model',
        'qwen2.5',
        '--api-key',
        '-',
      ],
      { env: suite.env, stdin: 'sk-from-stdin\n' },
    );
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(suite.gateway.requests[1]?.body, {
      baseUrl: 'http://llm.example.com/v1',
      model: 'qwen2.5',
      apiKey: 'sk-from-stdin',
      reset: false,
    });
    assert.ok(!set.stdout.includes('sk-from-stdin'), 'the key is never printed');

    await cli('ai', 'config', '--tenant', 'acme', '--clear-key');
    assert.deepEqual(suite.gateway.requests[2]?.body, { apiKey: null, reset: false });
    await cli('ai', 'config', '--tenant', 'acme', '--reset');
    assert.deepEqual(suite.gateway.requests[3]?.body, { reset: true });
  });

  test('usage: a tenant or every tenant, with a total; conversations list, show and rm', async () => {
    const rows = [
      { tenantId: 'acme', userId: 'usr_a', requests: 2, promptTokens: 100, completionTokens: 20 },
      { tenantId: 'acme', userId: null, requests: 1, promptTokens: 50, completionTokens: 5 },
    ];
    suite.gateway.on('GET /api/v1/tenants/acme/ai/usage', () => ({ status: 200, body: { rows } }));
    suite.gateway.on('GET /api/v1/ai/usage', () => ({ status: 200, body: { rows: [] } }));
    const tenant = await cli('ai', 'usage', '--tenant', 'acme');
    assert.equal(tenant.code, 0, tenant.stderr);
    assert.match(tenant.stdout, /^total +3 +150 +25$/m);
    const all = await cli('ai', 'usage', '--json');
    assert.deepEqual(JSON.parse(all.stdout), { rows: [] });

    const base = `/api/v1/tenants/acme/ai/conversations`;
    suite.gateway.on(`GET ${base}`, () => ({ status: 200, body: { conversations: [conversation] } }));
    suite.gateway.on(`GET ${base}/${CONVERSATION}`, () => ({ status: 200, body: conversation }));
    suite.gateway.on(`DELETE ${base}/${CONVERSATION}`, () => ({ status: 204 }));
    const list = await cli('ai', 'conversations', 'list', '--tenant', 'acme');
    assert.match(list.stdout, new RegExp(`${CONVERSATION} +why does web restart +pod acme/web`));
    const show = await cli('ai', 'conversations', 'show', CONVERSATION, '--tenant', 'acme');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /── you \(2026-01-01T00:00:00Z\)\nwhy does web restart\n/);
    assert.match(
      show.stdout,
      /── assistant \(2026-01-01T00:00:05Z, tokens 120 in, 8 out\)\nIt runs out of memory\.\n\\u\{1b\}\[31mred/,
    );
    const rm = await cli('ai', 'conversations', 'rm', CONVERSATION, '--tenant', 'acme');
    assert.deepEqual(rm, { code: 0, stdout: `deleted conversation ${CONVERSATION}\n`, stderr: '' });

    suite.gateway.on(`GET ${base}/${CONVERSATION}`, () => ({
      status: 404,
      body: { error: { code: 'not_found', message: `no conversation ${CONVERSATION}` } },
    }));
    const gone = await cli('ai', 'conversations', 'show', CONVERSATION, '--tenant', 'acme');
    assert.equal(gone.code, 4);
  });
});
