import { type ErrorBody, ErrorCode, type TerminalServerMessage } from '@agentpod/contracts';

/*
 * The gateway's text frames on the terminal socket (TerminalServerMessage), read without zod: zod's first parse in
 * a browser probes `new Function` to decide whether it may compile validators, and the console's CSP (no
 * 'unsafe-eval') reports that probe as a violation even though zod catches it. The shape is the contract's; the
 * unit test holds this reader to the schema.
 */
export function readServerMessage(text: string): TerminalServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  switch (message.t) {
    case 'ready':
      return typeof message.sessionId === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(message.sessionId)
        ? { t: 'ready', sessionId: message.sessionId }
        : undefined;
    case 'exit': {
      const { code, signal } = message;
      if (code !== null && !Number.isInteger(code)) return undefined;
      if (signal !== undefined && typeof signal !== 'string') return undefined;
      return { t: 'exit', code: code as number | null, ...(signal === undefined ? {} : { signal }) };
    }
    case 'error': {
      const error = message.error as Record<string, unknown> | null | undefined;
      if (typeof error?.message !== 'string' || !isErrorCode(error.code)) return undefined;
      return { t: 'error', error: { code: error.code, message: error.message } };
    }
    default:
      return undefined;
  }
}

const isErrorCode = (code: unknown): code is ErrorBody['code'] =>
  (ErrorCode.options as readonly unknown[]).includes(code);
