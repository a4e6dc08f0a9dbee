import type { UsageRow } from '@agentpod/contracts';
import {
  type AiConfigView,
  type AiSubject,
  type ConversationView,
  type GenerateResult,
  podRef,
  type Usage,
} from '@agentpod/contracts';
import type { z } from 'zod';
import { clean, formatFields, formatTable, formatTime } from '../output.ts';

/*
 * What `agentpod ai …` prints, pure and unit-tested: the answer's text made safe for a terminal, the usage and
 * conversation tables, and generated pods as the `agentpod pod create` command that would create each.
 */

// A model's answer is not ours: control characters (terminal escapes, a carriage return that hides a line) are
// shown, never obeyed. Newlines and tabs pass: the answer is text with lines.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\p{Cf}]/gu;
export const cleanAnswer = (text: string): string =>
  text.replace(UNSAFE, (char) => `\\u{${char.codePointAt(0)?.toString(16)}}`);

export const usageText = (usage: Usage): string => `${usage.promptTokens} in, ${usage.completionTokens} out`;

export function subjectText(subject: AiSubject): string {
  switch (subject.kind) {
    case 'none':
      return '-';
    case 'pod':
      return `pod ${podRef(subject.tenantId, subject.podId)}`;
    case 'node':
      return `node ${subject.nodeId}`;
    default: {
      const unknown: never = subject;
      return String(unknown);
    }
  }
}

export function formatUsage(rows: readonly z.infer<typeof UsageRow>[]): string {
  if (rows.length === 0) return 'no assistant usage yet\n';
  const sum = (pick: (row: z.infer<typeof UsageRow>) => number) => rows.reduce((n, row) => n + pick(row), 0);
  const body = rows.map((row) => [
    row.tenantId,
    row.userId ?? '-',
    row.requests,
    row.promptTokens,
    row.completionTokens,
  ]);
  const total = ['total', '', sum((r) => r.requests), sum((r) => r.promptTokens), sum((r) => r.completionTokens)];
  return formatTable(['tenant', 'user', 'requests', 'tokens in', 'tokens out'], [...body, total]);
}

export function formatConversations(conversations: readonly ConversationView[]): string {
  if (conversations.length === 0) return 'no conversations\n';
  return formatTable(
    ['id', 'title', 'about', 'updated'],
    conversations.map((c) => [c.id, c.title.slice(0, 60), subjectText(c.subject), formatTime(c.updatedAt)]),
  );
}

export function formatConversation(conversation: ConversationView): string {
  const head = formatFields([
    ['id', conversation.id],
    ['title', conversation.title],
    ['about', subjectText(conversation.subject)],
    ['created', formatTime(conversation.createdAt)],
  ]);
  const messages = (conversation.messages ?? []).map((message) => {
    const notes = [
      formatTime(message.createdAt),
      message.usage ? `tokens ${usageText(message.usage)}` : undefined,
      message.stopped ? 'stopped' : undefined,
    ].filter((note) => note !== undefined);
    const who = message.role === 'user' ? 'you' : 'assistant';
    const error = message.error ? `\n[error: ${clean(message.error.message)}]` : '';
    return `\n── ${who} (${notes.join(', ')})\n${cleanAnswer(message.content)}${error}\n`;
  });
  return `${head}${messages.join('')}`;
}

export function formatConfig(config: AiConfigView): string {
  return formatFields([
    ['source', config.source === 'tenant' ? "the tenant's own" : "the platform's"],
    ['base url', config.baseUrl],
    ['model', config.model],
    ['api key', config.hasApiKey ? 'set (never shown)' : 'none'],
  ]);
}

/** One word for a POSIX shell: as it is when that is safe, else single-quoted. */
export const shellWord = (word: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;

const MiB = 1024 * 1024;
const memoryFlag = (bytes: number): string =>
  bytes % (1024 * MiB) === 0 ? `${bytes / (1024 * MiB)}g` : bytes % MiB === 0 ? `${bytes / MiB}m` : String(bytes);

type GeneratedBody = GenerateResult['pods'][number]['body'];

/**
 * The `agentpod pod create` line that creates a generated pod, secrets left for the user to type (`--secret K`
 * reads the value then, so a generated value never lands in shell history), and what the flags cannot say.
 */
export function createCommand(body: GeneratedBody): { command: string; notLimited: string[] } {
  const { spec } = body;
  const words = ['agentpod', 'pod', 'create', podRef(body.tenantId, body.podId), '--image', spec.image];
  const notLimited: string[] = [];
  const flag = (name: string, value: string) => words.push(`--${name}`, value);
  for (const port of spec.ports) {
    flag('port', `${port.containerPort}${port.protocol === 'udp' ? '/udp' : ''}${port.public ? ':public' : ''}`);
  }
  for (const [key, value] of Object.entries(spec.env)) flag('env', `${key}=${value}`);
  for (const name of new Set([...spec.secretNames, ...Object.keys(body.secrets)])) flag('secret', name);
  if (spec.limits.memoryBytes !== 256 * MiB) flag('memory', memoryFlag(spec.limits.memoryBytes));
  if (spec.limits.cpus !== 0.5) flag('cpus', String(spec.limits.cpus));
  if (spec.limits.pids !== 256) flag('pids', String(spec.limits.pids));
  if (spec.volume) flag('volume', spec.volume.mountPath);
  if (spec.cmd) flag('cmd', spec.cmd.map(shellWord).join(' '));
  if (spec.restart !== 'always') flag('restart', spec.restart);
  if (spec.health) {
    const { health } = spec;
    flag(
      'health',
      health.type === 'tcp' ? `tcp${health.port ? `:${health.port}` : ''}` : `${health.type}:${health.path}`,
    );
    const timings =
      health.intervalSeconds !== 10 ||
      health.timeoutSeconds !== 3 ||
      health.failureThreshold !== 3 ||
      health.startGraceSeconds !== 30;
    if ((health.type !== 'tcp' && health.port !== undefined) || timings)
      notLimited.push('the health check’s port or timings');
  }
  if (body.node) flag('node', body.node);
  if (spec.template) notLimited.push(`the template ${spec.template}`);
  return { command: words.map(shellWord).join(' '), notLimited };
}

export function formatGenerated(result: GenerateResult): string {
  const lines: string[] = [];
  const count = result.pods.length;
  lines.push(`${count === 0 ? 'No pod' : count === 1 ? '1 pod' : `${count} pods`} generated; nothing was created.`);
  for (const { body, notes } of result.pods) {
    const { command, notLimited } = createCommand(body);
    lines.push('', `${podRef(body.tenantId, body.podId)} (${clean(body.spec.image)})`);
    if (notes)
      lines.push(
        ...cleanAnswer(notes)
          .split('\n')
          .map((line) => `  ${line}`),
      );
    lines.push(
      '  body:',
      ...JSON.stringify(body, null, 2)
        .split('\n')
        .map((line) => `    ${clean(line)}`),
    );
    lines.push('  create it with:', `    ${clean(command)}`);
    if (notLimited.length > 0) {
      lines.push(`  (the flags cannot set ${notLimited.join(' or ')}: POST the body to the API instead)`);
    }
  }
  if (result.refused.length > 0) {
    lines.push('', 'Refused by the security policy:');
    for (const refusal of result.refused) lines.push(`  ${clean(refusal.podId)}: ${clean(refusal.reason)}`);
  }
  lines.push('', `tokens: ${usageText(result.usage)}`);
  return `${lines.join('\n')}\n`;
}
