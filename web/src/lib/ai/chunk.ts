import type { AiStreamChunk, ErrorBody } from '@agentpod/contracts';

/*
 * One NDJSON line of an answer (contracts' AiStreamChunk), read without zod: zod's first parse in a browser probes
 * `new Function`, which the console's CSP reports as a violation. The unit test holds this reader to the schema.
 * A line that is not a chunk is skipped (undefined), never shown.
 */

type Command = { command: string; explanation: string };

export function readChunk(line: string): AiStreamChunk | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  switch (value.t) {
    case 'delta':
      return typeof value.text === 'string' ? { t: 'delta', text: value.text } : undefined;
    case 'done': {
      const { messageId, usage, stopped = false, commands = [] } = value;
      if (typeof messageId !== 'string' || !/^msg_[a-z0-9]{20,40}$/.test(messageId)) return undefined;
      if (!isRecord(usage) || !isCount(usage.promptTokens) || !isCount(usage.completionTokens)) return undefined;
      if (typeof stopped !== 'boolean' || !isCommands(commands)) return undefined;
      return {
        t: 'done',
        messageId,
        usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens },
        stopped,
        commands: commands.map(({ command, explanation }) => ({ command, explanation })),
      };
    }
    case 'error': {
      const error = readError(value.error);
      return error ? { t: 'error', error } : undefined;
    }
    default:
      return undefined;
  }
}

const CODES: readonly ErrorBody['code'][] = [
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unavailable',
  'timeout',
  'internal',
];

/** An ErrorBody (code and message; an unknown code reads as `internal` so the message is still shown). */
export function readError(value: unknown): ErrorBody | undefined {
  if (!isRecord(value) || typeof value.message !== 'string') return undefined;
  const code = CODES.find((known) => known === value.code) ?? 'internal';
  return { code, message: value.message };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
const isCommands = (value: unknown): value is Command[] =>
  Array.isArray(value) &&
  value.every(
    (item): item is Command =>
      isRecord(item) &&
      typeof item.command === 'string' &&
      item.command.length <= 4096 &&
      typeof item.explanation === 'string' &&
      item.explanation.length <= 2000,
  );
