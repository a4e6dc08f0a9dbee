import type { ApiClient } from '@agentpod/cli';
import { type FakeLlm, startFakeLlm } from '@agentpod/kit/testing';
import { defineBenchmark, round3 } from './harness.ts';
import { startControlPlane } from './support/control-plane.ts';
import { percentile } from './support/wait.ts';

/*
 * Time to the first streamed token of an assistant's answer, through AgentPod against straight from the provider,
 * in the same run with the same provider: the kit's fake OpenAI-compatible server (in the bench process, on
 * 127.0.0.1, a token every BENCH_AI_TOKEN_MS), so the provider costs the same on both sides and what differs is
 * AgentPod.
 *
 * AgentPod's path: `POST /api/v1/tenants/:t/ai/ask` with an API token → gateway (authenticate, membership) →
 * `ai.cmd.ask` (the question stored as events) → the ai service's streamed request to the provider → its first
 * delta on `ai.stream.<id>` → the gateway → the first NDJSON `delta` line at this client. The baseline: the same
 * chat-completions request (system prompt + question, stream: true) sent by this process straight to the fake, to
 * its first SSE chunk carrying content. Each side reads its answer to the end; sides alternate every round.
 *
 * The value is the p50 of the added milliseconds (AgentPod p50 − direct p50); target ≤ 20 ms. Questions are asked
 * about nothing in particular (no pod context to gather: that is the data the assistant is there to read, not
 * overhead). The control plane runs as `npm start` runs it (built dist: run `npm run build` first).
 */

/**
 * BENCH_AI_TOKEN_MS: the fake's pause before each token (default 20 ms, a local model's ~50 tokens/s), the same
 * on both sides. With 0 the whole answer comes in one burst, which hides any batching of the first token.
 */
const TOKEN_MS = Number(process.env.BENCH_AI_TOKEN_MS ?? 20);
const WARMUP = 10;
const ROUNDS = 200;
const QUESTION = 'How do I see why my pod restarts?';
const REPLY = 'Run agentpod pod logs on it and look at the last lines before each exit.';

const ms = (value: number) => Math.round(value * 10) / 10;
const stats = (values: readonly number[]) =>
  `p50 ${ms(percentile(values, 0.5))}, p90 ${ms(percentile(values, 0.9))}, p99 ${ms(percentile(values, 0.99))}, ` +
  `min ${ms(Math.min(...values))}, max ${ms(Math.max(...values))}`;

/** Reads a streamed body to its end; the time at which `isFirst` first held for a piece of text. */
async function timeToFirst(
  response: Response,
  started: number,
  isFirst: (buffered: string) => boolean,
): Promise<number> {
  if (!response.ok || !response.body) throw new Error(`answered ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffered = '';
  let first: number | undefined;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    if (first === undefined) {
      buffered += decoder.decode(chunk, { stream: true });
      if (isFirst(buffered)) first = performance.now() - started;
    }
  }
  if (first === undefined) throw new Error(`the answer ended without a token: ${buffered.slice(0, 300)}`);
  return first;
}

/** Straight to the provider: the first SSE `data:` chunk whose delta carries content. */
async function direct(fake: FakeLlm): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${fake.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify({
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'You are the AgentPod assistant.' },
        { role: 'user', content: QUESTION },
      ],
    }),
  });
  return timeToFirst(response, started, (text) => /"content":"[^"]/.test(text));
}

/** Through the gateway, with the CLI's own client (an API token): the first NDJSON `delta` line. */
async function throughGateway(api: ApiClient, tenantId: string): Promise<number> {
  const started = performance.now();
  const response = await api.open(
    'aiAsk',
    { params: { tenant: tenantId }, body: { message: QUESTION } },
    { timeoutMs: null },
  );
  return timeToFirst(response, started, (text) => text.includes('{"t":"delta"'));
}

export default defineBenchmark({
  name: 'ai-first-token',
  description: 'first streamed token of an answer: through the gateway vs straight from the provider, added ms (p50)',
  target: { measured: '<=', value: 20 },
  async run(context) {
    const { log, signal, defer } = context;
    const fake = await startFakeLlm({ reply: REPLY, tokenDelayMs: TOKEN_MS });
    defer(() => fake.close());
    const cp = await startControlPlane(context, {
      services: ['identity', 'tenants', 'ai', 'gateway'],
      env: { AGENTPOD_AI_BASE_URL: fake.url, AGENTPOD_AI_MODEL: 'fake-model' },
    });

    const agentpod: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < WARMUP + ROUNDS && !signal.aborted; round++) {
      const sides = [
        async () => {
          const value = await throughGateway(cp.api, cp.tenantId);
          if (round >= WARMUP) agentpod.push(value);
        },
        async () => {
          const value = await direct(fake);
          if (round >= WARMUP) baseline.push(value);
        },
      ];
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
      if ((round + 1) % 50 === 0) log(`round ${round + 1}/${WARMUP + ROUNDS}`);
    }
    if (signal.aborted) throw new Error('interrupted');
    await cp.assertRunning();

    const p50 = percentile(agentpod, 0.5);
    const base = percentile(baseline, 0.5);
    const added = p50 - base;
    const addedP99 = percentile(agentpod, 0.99) - percentile(baseline, 0.99);
    log(`through the gateway ${stats(agentpod)} ms; direct ${stats(baseline)} ms; added p50 ${ms(added)} ms`);
    return {
      value: ms(added),
      unit: 'ms',
      baseline: ms(base),
      ratio: round3(p50 / base),
      notes:
        `${ROUNDS} questions each way after ${WARMUP} of warm-up, sides alternating, one at a time, each answer read ` +
        `to its end (${fake.requests.length} provider requests in all); the fake pauses ${TOKEN_MS} ms before each ` +
        `token (BENCH_AI_TOKEN_MS). Time to first token through the gateway ` +
        `(POST …/ai/ask with an API token, the CLI's client, NDJSON) ${stats(agentpod)} ms; straight to the same fake provider ` +
        `(chat-completions, SSE) ${stats(baseline)} ms. Added: p50 ${ms(added)} ms, p99 ${ms(addedP99)} ms. ` +
        'value = added p50 ms; baseline = direct p50 ms; ratio = through-gateway p50 / direct p50. Processes: ' +
        'identity, tenants, ai, gateway (built dist) on a private nats-server and database; no pod context.',
    };
  },
});
