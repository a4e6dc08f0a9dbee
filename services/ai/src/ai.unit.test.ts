import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type Encrypted } from '@agentpod/contracts';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { DeltaBatcher } from './chat/batcher.ts';
import { suggestedCommands } from './chat/commands.ts';
import { decideConfigure, nextOverride } from './config/aggregate.ts';
import { configView, effectiveProvider } from './config/provider-config.ts';
import { checkProviderTarget, nonPublicKind } from './config/target.ts';
import {
  type Conversation,
  conversationAggregate,
  decideAddMessage,
  decideDelete,
  decideStart,
  titleOf,
} from './conversation/aggregate.ts';
import { MAX_CAUSE_AGE_MS, MIN_GAP_MS, shouldDiagnose } from './diagnosis/aggregate.ts';
import { extractJson, validateGenerated } from './generate/validate.ts';
import { providerError } from './provider/errors.ts';

const sealed: Encrypted = { v: 1, iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };
const target = { baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.2', timeoutMs: 60_000 };

describe('suggested commands', () => {
  test('fenced sh/bash/console blocks, verbatim, with the line before as explanation', () => {
    const answer = [
      'The pod runs out of memory.',
      '',
      'Check the memory use:',
      '```sh',
      'ps aux --sort=-rss | head',
      '```',
      '1. Then look at the logs:',
      '```bash',
      'tail -n 50 /var/log/app.log',
      'grep -i error /var/log/app.log',
      '```',
      '```console',
      '$ df -h',
      'Filesystem  Size',
      '```',
      '```python',
      'print("not a command")',
      '```',
    ].join('\n');
    assert.deepEqual(suggestedCommands(answer), [
      { command: 'ps aux --sort=-rss | head', explanation: 'Check the memory use:' },
      { command: 'tail -n 50 /var/log/app.log\ngrep -i error /var/log/app.log', explanation: 'Then look at the logs:' },
      { command: 'df -h', explanation: '' },
    ]);
  });

  test('none in a plain answer, or an unterminated block', () => {
    assert.deepEqual(suggestedCommands('just text'), []);
    assert.deepEqual(suggestedCommands('```sh\nrm -rf /'), []);
  });
});

describe('delta batching', () => {
  test('the first piece goes out at once; the next ones wait for the delay or the size limit', () => {
    let now = 0;
    const sent: string[] = [];
    const batcher = new DeltaBatcher((text) => sent.push(text), { maxBytes: 8, maxDelayMs: 60_000, now: () => now });
    batcher.push('first');
    assert.deepEqual(sent, ['first']);
    for (const piece of ['abc', 'def', 'gh', 'ij']) batcher.push(piece);
    assert.deepEqual(sent, ['first', 'abcdefgh']);
    now = 120_000;
    batcher.push('k');
    assert.deepEqual(sent, ['first', 'abcdefgh', 'ijk'], 'after the delay, at once again');
    batcher.push('l');
    batcher.flush();
    batcher.flush();
    assert.deepEqual(sent, ['first', 'abcdefgh', 'ijk', 'l']);
  });

  test('a waiting batch goes out when its delay has passed', async () => {
    const sent: string[] = [];
    const batcher = new DeltaBatcher((text) => sent.push(text), { maxDelayMs: 5 });
    batcher.push('a');
    batcher.push('b');
    batcher.push('c');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(sent, ['a', 'bc']);
  });
});

describe('provider errors, as people read them', () => {
  const message = (error: unknown) => providerError(error, target).message;
  test('each failure names what to check', () => {
    const refused = new APIConnectionError({
      cause: Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    });
    assert.equal(
      message(refused),
      'the AI provider at http://127.0.0.1:11434/v1 cannot be reached (ECONNREFUSED); is it running?',
    );
    assert.match(
      message(APIError.generate(401, { error: { message: 'bad key' } }, undefined, new Headers())),
      /refused the API key/,
    );
    assert.match(message(APIError.generate(403, undefined, 'no', new Headers())), /refused the API key \(HTTP 403/);
    assert.match(
      message(APIError.generate(404, { error: { message: 'model "llama3.2" not found' } }, undefined, new Headers())),
      /^the model llama3.2 is not available at http:\/\/127.0.0.1:11434\/v1 \(HTTP 404: model "llama3.2" not found\)$/,
    );
    assert.equal(providerError(APIError.generate(429, undefined, 'slow', new Headers()), target).code, 'rate_limited');
    assert.match(
      message(APIError.generate(500, { error: { message: 'boom' } }, undefined, new Headers())),
      /failed \(HTTP 500: boom\)/,
    );
    assert.match(message(new APIConnectionTimeoutError()), /no answer from the AI provider at .* within 60 s/);
    assert.equal(providerError(new AppError('invalid', 'x'), target).message, 'x');
  });
});

describe('conversations (decide / evolve)', () => {
  const owner = { tenantId: 'acme', userId: 'usr_a' };
  const fold = (events: ReturnType<typeof decideStart>) => {
    assert.ok(Array.isArray(events));
    let state: Conversation = conversationAggregate.initialState;
    for (const [i, event] of events.entries()) {
      state = conversationAggregate.evolve(state, {
        ...event,
        id: `0190a000-0000-7000-8000-00000000000${i}`,
        aggregateId: 'cnv_x',
        actor: { kind: 'user', id: 'usr_a' },
        occurredAt: '2025-01-01T00:00:00Z',
        correlationId: 'c',
        causationId: 'c',
        version: i + 1,
      } as never);
    }
    return state;
  };
  const started = fold(
    decideStart({ status: 'none' }, { ...owner, conversationId: 'cnv_x', title: sealed, subject: { kind: 'none' } }),
  );
  const message = {
    messageId: 'msg_1',
    role: 'user' as const,
    content: sealed,
    usage: null,
    stopped: false,
    error: null,
    model: null,
  };

  test('only its user in its tenant adds to it or deletes it; anyone else finds nothing', () => {
    assert.equal(started.status, 'live');
    assert.equal((decideAddMessage(started, owner, 'cnv_x', message) as unknown[]).length, 1);
    for (const other of [
      { tenantId: 'acme', userId: 'usr_b' },
      { tenantId: 'globex', userId: 'usr_a' },
    ]) {
      const refused = decideAddMessage(started, other, 'cnv_x', message);
      assert.ok(refused instanceof AppError && refused.code === 'not_found');
      const deleted = decideDelete(started, other, 'cnv_x');
      assert.ok(deleted instanceof AppError && deleted.code === 'not_found');
    }
    assert.ok(
      decideStart(started, { ...owner, conversationId: 'cnv_x', title: sealed, subject: { kind: 'none' } }) instanceof
        AppError,
    );
  });

  test('a retried message adds nothing; a deleted conversation takes none', () => {
    const withMessage = conversationAggregate.evolve(started, {
      type: 'MessageAdded',
      data: { conversationId: 'cnv_x', ...owner, ...message },
    } as never);
    assert.deepEqual(decideAddMessage(withMessage, owner, 'cnv_x', message), []);
    const deleted = conversationAggregate.evolve(withMessage, { type: 'ConversationDeleted', data: {} } as never);
    assert.ok(decideAddMessage(deleted, owner, 'cnv_x', { ...message, messageId: 'msg_2' }) instanceof AppError);
  });

  test('a title is the first question on one line, at most 80 characters', () => {
    assert.equal(titleOf('  why\n does it\tcrash? '), 'why does it crash?');
    assert.equal(titleOf('x'.repeat(200)).length, 80);
  });
});

describe('provider configuration', () => {
  const platform = {
    baseUrl: 'http://127.0.0.1:11434/v1',
    model: 'llama3.2',
    apiKey: 'platform-key',
    timeoutMs: 1_000,
  };

  test('absent fields keep their value, null removes the key, reset goes back to the platform', () => {
    const a = nextOverride(null, { model: 'qwen', reset: false });
    assert.deepEqual(a, { baseUrl: null, model: 'qwen', apiKey: null });
    const b = nextOverride(a, { apiKey: sealed, baseUrl: 'https://llm.example.com/v1', reset: false });
    assert.deepEqual(b, { baseUrl: 'https://llm.example.com/v1', model: 'qwen', apiKey: sealed });
    assert.deepEqual(nextOverride(b, { apiKey: null, reset: false }), { ...b, apiKey: null });
    assert.equal(nextOverride(b, { model: 'x', reset: true }), null);
    assert.deepEqual(decideConfigure({ override: null }, 'acme', { reset: true }), []);
  });

  test("the platform's key never goes to a tenant's own base URL", () => {
    const own = effectiveProvider(
      platform,
      { baseUrl: 'https://llm.example.com/v1', model: null, apiKey: null },
      () => null,
    );
    assert.equal(own.apiKey, null);
    assert.equal(own.model, 'llama3.2');
    const modelOnly = effectiveProvider(platform, { baseUrl: null, model: 'qwen', apiKey: null }, () => null);
    assert.equal(modelOnly.apiKey, 'platform-key');
    const ownKey = effectiveProvider(
      platform,
      { baseUrl: 'https://x.example/v1', model: null, apiKey: sealed },
      () => 'tenant-key',
    );
    assert.equal(ownKey.apiKey, 'tenant-key');
    assert.deepEqual(configView(platform, null), {
      source: 'platform',
      baseUrl: platform.baseUrl,
      model: 'llama3.2',
      hasApiKey: true,
    });
    assert.equal(configView(platform, { baseUrl: 'https://x.example/v1', model: null, apiKey: null }).hasApiKey, false);
  });

  test("a tenant's base URL must be public unless the operator allows private ones", async () => {
    assert.equal(nonPublicKind('127.0.0.1'), 'loopback');
    assert.equal(nonPublicKind('169.254.169.254'), 'link-local');
    assert.equal(nonPublicKind('::ffff:10.1.2.3'), 'private');
    assert.equal(nonPublicKind('1.1.1.1'), undefined);
    await assert.rejects(checkProviderTarget('http://127.0.0.1:4222/v1', { allowPrivate: false }), /loopback/);
    await assert.rejects(checkProviderTarget('http://localhost/v1', { allowPrivate: false }), /loopback/);
    await assert.rejects(
      checkProviderTarget('https://llm.example.com/v1', { allowPrivate: false, resolve: async () => ['10.0.0.5'] }),
      /resolves to 10.0.0.5, which is a private address/,
    );
    await checkProviderTarget('https://llm.example.com/v1', {
      allowPrivate: false,
      resolve: async () => ['93.184.216.34'],
    });
    await checkProviderTarget('http://127.0.0.1/v1', { allowPrivate: true });
  });
});

describe('automatic diagnoses', () => {
  const now = new Date('2025-01-01T12:00:00Z');
  const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString();
  test('once per cause, only recent causes, at most one per quiet period', () => {
    const fresh = { lastSourceSeq: 0, lastDiagnosedAt: null };
    assert.deepEqual(shouldDiagnose(fresh, { seq: 5, occurredAt: at(1_000) }, now), { yes: true });
    assert.equal(shouldDiagnose({ ...fresh, lastSourceSeq: 5 }, { seq: 5, occurredAt: at(1_000) }, now).yes, false);
    assert.equal(shouldDiagnose(fresh, { seq: 5, occurredAt: at(MAX_CAUSE_AGE_MS + 1) }, now).yes, false);
    const recent = { lastSourceSeq: 3, lastDiagnosedAt: at(MIN_GAP_MS - 1_000) };
    assert.equal(shouldDiagnose(recent, { seq: 5, occurredAt: at(1_000) }, now).yes, false);
    assert.equal(
      shouldDiagnose({ ...recent, lastDiagnosedAt: at(MIN_GAP_MS + 1) }, { seq: 5, occurredAt: at(1_000) }, now).yes,
      true,
    );
  });
});

describe('generated specs', () => {
  const good = {
    podId: 'web',
    spec: { image: 'n8nio/n8n:1.0', ports: [{ containerPort: 5678 }] },
    notes: 'set a password',
  };

  test('the JSON is found whole, in a fence, or as the first object', () => {
    assert.deepEqual(extractJson('{"a":1}'), { a: 1 });
    assert.deepEqual(extractJson('Here:\n```json\n{"a":2}\n```\nbye'), { a: 2 });
    assert.deepEqual(extractJson('Sure! {"a":{"b":"}"}} and more'), { a: { b: '}' } });
    assert.equal(extractJson('no json'), undefined);
  });

  test('the security policy and the schema refuse, with a reason per pod', () => {
    const result = validateGenerated('acme', {
      pods: [
        good,
        { podId: 'priv', spec: { image: 'x:1', privileged: true } },
        { podId: 'bind', spec: { image: 'x:1', binds: ['/etc:/host-etc'] } },
        { podId: 'sock', spec: { image: 'x:1', volumes: ['/var/run/docker.sock:/var/run/docker.sock'] } },
        { podId: 'hostnet', spec: { image: 'x:1', network_mode: 'host' } },
        { podId: 'capadd', spec: { image: 'x:1' }, cap_add: ['SYS_ADMIN'] },
        { podId: 'Bad Id', spec: { image: 'x:1' } },
        { podId: 'web', spec: { image: 'x:1' } },
      ],
    });
    assert.deepEqual(
      result.pods.map((p) => p.body.podId),
      ['web'],
    );
    assert.equal(result.pods[0]?.body.tenantId, 'acme');
    assert.equal(result.pods[0]?.notes, 'set a password');
    const reasons = Object.fromEntries(result.refused.map((r) => [r.podId, r.reason]));
    assert.match(reasons.priv ?? '', /privileged mode is not allowed/);
    assert.match(reasons.bind ?? '', /host binds are not allowed/);
    assert.match(reasons.sock ?? '', /Docker socket/);
    assert.match(reasons.hostnet ?? '', /host’s network namespace/);
    assert.match(reasons.capadd ?? '', /added capabilities/);
    assert.match(reasons['Bad Id'] ?? '', /^invalid: podId/);
    assert.match(result.refused.at(-1)?.reason ?? '', /second pod/);
  });

  test('an answer of another shape is refused as a whole', () => {
    assert.deepEqual(validateGenerated('acme', { spec: {} }).refused, [
      { podId: '(answer)', reason: 'the model did not answer with {"pods":[…]}' },
    ]);
  });
});
