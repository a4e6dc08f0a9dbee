import { type AiSubject, ConversationId, NodeRef } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { Context } from '../context.ts';
import { clean, EXIT } from '../output.ts';
import { ask as prompt } from '../prompt.ts';
import { formatConfig, formatConversation, formatConversations, formatGenerated, formatUsage } from './ai-format.ts';
import { printAnswer } from './ai-stream.ts';
import { podRefArg } from './pod-flags.ts';

/*
 * `agentpod ai …`: the assistant. `ask` and `diagnose` stream the answer to stdout as it is written; `generate`
 * shows validated pod specs and creates nothing; `config`, `usage` and `conversations` manage the rest.
 */

const TENANT = { type: 'string', value: 'T', description: 'the tenant', required: true } as const;
const LABELS = {
  tenant: '--tenant',
  pod: '<tenant>/<pod>',
  message: '<question>',
  prompt: '<description>',
  conversationId: '--conversation',
  conversation: '<id>',
  baseUrl: '--base-url',
  model: '--model',
  apiKey: '--api-key',
};
/** Generating several pod specs is one whole completion; a slow local model may need minutes. */
const GENERATE_TIMEOUT_MS = 330_000;

const words = (list: readonly string[], what: string): string => {
  const text = list.join(' ').trim();
  if (text === '') throw usageError(`${what} is empty`);
  return text;
};

/** What `ask` is about, and the tenant its conversation is kept in. */
async function askTarget(
  ctx: Context,
  options: { pod?: string | undefined; node?: string | undefined; tenant?: string | undefined },
): Promise<{ tenantId: string; subject: AiSubject }> {
  if (options.pod !== undefined && options.node !== undefined) throw usageError('give --pod or --node, not both');
  if (options.pod !== undefined) {
    const key = podRefArg(options.pod);
    if (options.tenant !== undefined && options.tenant !== key.tenantId) {
      throw usageError(`--tenant ${options.tenant} is not the tenant of --pod ${options.pod}`);
    }
    return { tenantId: key.tenantId, subject: { kind: 'pod', ...key } };
  }
  if (options.tenant === undefined) {
    throw usageError('give --tenant T (conversations are kept per tenant), or --pod T/P');
  }
  if (options.node === undefined) return { tenantId: options.tenant, subject: { kind: 'none' } };
  const ref = NodeRef.safeParse(options.node);
  if (!ref.success) throw usageError(`invalid --node ${options.node}: ${ref.error.issues[0]?.message}`);
  // The assistant knows nodes by id; a name is looked up (and a node the caller cannot see is a 404 here).
  const nodeId = ref.data.startsWith('nod_')
    ? ref.data
    : (await (await ctx.client()).call('getNode', { params: { node: ref.data } })).id;
  return { tenantId: options.tenant, subject: { kind: 'node', nodeId } };
}

export const aiAskCommand = defineCommand({
  path: ['ai', 'ask'],
  summary: 'Ask the assistant; the answer streams to stdout (Ctrl-C stops it)',
  args: ['question...'],
  options: {
    pod: { type: 'string', value: 'T/P', description: 'about this pod: its logs, events, health, metrics and spec' },
    node: { type: 'string', value: 'N', description: 'about this node (name or id)' },
    tenant: { type: 'string', value: 'T', description: 'the tenant the conversation is kept in (default: the pod’s)' },
    conversation: { type: 'string', value: 'ID', description: 'continue this conversation (cnv_…)' },
  },
  details:
    'Suggested commands and the tokens used are printed on stderr at the end; nothing is ever run for you.\n' +
    'Example: agentpod ai ask --pod acme/web "why does it restart?"',
  async run(ctx, { args, options }) {
    const message = words(args.question, '<question>');
    const { tenantId, subject } = await askTarget(ctx, options);
    const client = await ctx.client();
    const response = await client.open(
      'aiAsk',
      {
        params: { tenant: tenantId },
        body: {
          message,
          subject,
          ...(options.conversation === undefined ? {} : { conversationId: options.conversation }),
        },
      },
      { labels: LABELS, timeoutMs: null },
    );
    return printAnswer(ctx, { response, tenantId });
  },
});

export const aiDiagnoseCommand = defineCommand({
  path: ['ai', 'diagnose'],
  summary: 'What is wrong with a pod and a suggested fix, from its logs, events, health and metrics',
  args: ['tenant/pod'],
  async run(ctx, { args }) {
    const key = podRefArg(args['tenant/pod']);
    const response = await (await ctx.client()).open(
      'aiDiagnose',
      { params: { tenant: key.tenantId, pod: key.podId } },
      { labels: LABELS, timeoutMs: null },
    );
    return printAnswer(ctx, { response, tenantId: key.tenantId });
  },
});

export const aiGenerateCommand = defineCommand({
  path: ['ai', 'generate'],
  summary: 'Pod specs from a description, validated and policy-checked; nothing is created',
  args: ['description...'],
  options: { tenant: TENANT },
  details:
    'Example: agentpod ai generate --tenant acme "an n8n with PostgreSQL and Redis"\n' +
    'Each pod is shown with the agentpod pod create command that creates it. Privileged mode, host mounts,\n' +
    'the Docker socket and host networking are refused, with the reason.',
  async run(ctx, { args, options }) {
    const prompt = words(args.description, '<description>');
    const result = await (await ctx.client()).call(
      'aiGenerate',
      { params: { tenant: options.tenant }, body: { prompt } },
      { labels: LABELS, timeoutMs: GENERATE_TIMEOUT_MS },
    );
    ctx.out.result(result, () => formatGenerated(result));
    return EXIT.ok;
  },
});

/** `--api-key -`: the key from stdin (typed without echo on a terminal), so it stays out of shell history. */
async function apiKeyOf(ctx: Context, value: string): Promise<string> {
  if (value !== '-') return value;
  if (ctx.io.stdin.isTTY === true) return prompt(ctx.io, 'API key: ', { secret: true });
  let text = '';
  for await (const chunk of ctx.io.stdin) {
    text += String(chunk);
    if (text.length > 4096) break;
  }
  const key = text.trim();
  if (key === '') throw usageError('--api-key -: no key was given on stdin');
  return key;
}

export const aiConfigCommand = defineCommand({
  path: ['ai', 'config'],
  summary: "Show or change the tenant's assistant provider (changing: tenant owners)",
  options: {
    tenant: TENANT,
    'base-url': { type: 'string', value: 'U', description: 'an OpenAI-compatible API, /v1 included' },
    model: { type: 'string', value: 'M', description: 'the model, e.g. llama3.2 or gpt-4o-mini' },
    'api-key': { type: 'string', value: 'K', description: 'the API key (- reads it from stdin); never shown again' },
    'clear-key': { type: 'boolean', description: "remove the tenant's API key" },
    reset: { type: 'boolean', description: "back to the platform's provider" },
  },
  details: 'Without a change option, shows the provider in use (the key itself is never shown).',
  async run(ctx, { options }) {
    const client = await ctx.client();
    const params = { tenant: options.tenant };
    const changes = [options['base-url'], options.model, options['api-key'], options['clear-key'], options.reset];
    if (changes.every((value) => value === undefined || value === false)) {
      const config = await client.call('getAiConfig', { params }, { labels: LABELS });
      ctx.out.result(config, () => formatConfig(config));
      return EXIT.ok;
    }
    if (options['api-key'] !== undefined && options['clear-key']) {
      throw usageError('give --api-key or --clear-key, not both');
    }
    if (options.reset && changes.slice(0, 4).some((value) => value !== undefined && value !== false)) {
      throw usageError('--reset drops every tenant setting; give it alone');
    }
    const apiKey = options['clear-key']
      ? { apiKey: null }
      : options['api-key'] === undefined
        ? {}
        : { apiKey: await apiKeyOf(ctx, options['api-key']) };
    const config = await client.call(
      'setAiConfig',
      {
        params,
        body: {
          ...(options['base-url'] === undefined ? {} : { baseUrl: options['base-url'] }),
          ...(options.model === undefined ? {} : { model: options.model }),
          ...apiKey,
          ...(options.reset ? { reset: true } : {}),
        },
      },
      { labels: LABELS },
    );
    ctx.out.result(config, () => formatConfig(config));
    return EXIT.ok;
  },
});

export const aiUsageCommand = defineCommand({
  path: ['ai', 'usage'],
  summary: 'Tokens in and out by user (a tenant: its admins; every tenant: platform admins)',
  options: { tenant: { type: 'string', value: 'T', description: 'only this tenant (else every tenant)' } },
  async run(ctx, { options }) {
    const client = await ctx.client();
    const { rows } =
      options.tenant === undefined
        ? await client.call('aiUsage')
        : await client.call('tenantAiUsage', { params: { tenant: options.tenant } }, { labels: LABELS });
    ctx.out.result({ rows }, () => formatUsage(rows));
    return EXIT.ok;
  },
});

const conversationArg = (text: string): string => {
  const parsed = ConversationId.safeParse(text);
  if (!parsed.success) throw usageError(`invalid <id> ${JSON.stringify(text)}: must be a conversation id (cnv_…)`);
  return parsed.data;
};

export const aiConversationsCommands = [
  defineCommand({
    path: ['ai', 'conversations', 'list'],
    summary: 'Your conversations with the assistant in a tenant',
    options: { tenant: TENANT },
    async run(ctx, { options }) {
      const { conversations } = await (await ctx.client()).call(
        'listConversations',
        { params: { tenant: options.tenant } },
        { labels: LABELS },
      );
      ctx.out.result({ conversations }, () => formatConversations(conversations));
      return EXIT.ok;
    },
  }),
  defineCommand({
    path: ['ai', 'conversations', 'show'],
    summary: 'One of your conversations, every message',
    args: ['id'],
    options: { tenant: TENANT },
    async run(ctx, { args, options }) {
      const conversation = await (await ctx.client()).call(
        'getConversation',
        { params: { tenant: options.tenant, conversation: conversationArg(args.id) } },
        { labels: LABELS },
      );
      ctx.out.result(conversation, () => formatConversation(conversation));
      return EXIT.ok;
    },
  }),
  defineCommand({
    path: ['ai', 'conversations', 'rm'],
    summary: 'Delete one of your conversations',
    args: ['id'],
    options: { tenant: TENANT },
    async run(ctx, { args, options }) {
      const id = conversationArg(args.id);
      await (await ctx.client()).call(
        'deleteConversation',
        { params: { tenant: options.tenant, conversation: id } },
        { labels: LABELS },
      );
      ctx.out.result({ conversationId: id, deleted: true }, () => `deleted conversation ${clean(id)}\n`);
      return EXIT.ok;
    },
  }),
];

export const aiCommands = [
  aiAskCommand,
  aiDiagnoseCommand,
  aiGenerateCommand,
  aiConfigCommand,
  aiUsageCommand,
  ...aiConversationsCommands,
];
