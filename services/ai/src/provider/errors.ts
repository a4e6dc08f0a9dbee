import { AppError } from '@agentpod/contracts';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';

/*
 * What went wrong with the provider, as one sentence a person can act on. The chat shows it in place of an answer,
 * so it names the provider's URL and model, never a stack trace.
 */

export type Target = { baseUrl: string; model: string; timeoutMs: number };

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The first error code (ECONNREFUSED…) along the error's cause chain (fetch nests them). */
function causeCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) if (causeCode(inner)) return causeCode(inner);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The provider's own message, if its error body had one, cut short. */
function providerMessage(error: APIError): string {
  const body = error.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  const text = typeof body?.message === 'string' ? body.message : error.message;
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export const timeoutError = (target: Target): AppError =>
  new AppError(
    'timeout',
    `no answer from the AI provider at ${target.baseUrl} within ${Math.round(target.timeoutMs / 100) / 10} s`,
  );

export function unreachableError(target: Target, code?: string): AppError {
  const why =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? ' (its host name does not resolve)'
      : code
        ? ` (${code}); is it running?`
        : '; is it running?';
  return new AppError('unavailable', `the AI provider at ${target.baseUrl} cannot be reached${why}`);
}

/** Maps anything the client threw into the catalogue. */
export function providerError(error: unknown, target: Target): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof APIConnectionTimeoutError) return timeoutError(target);
  if (error instanceof APIConnectionError) return unreachableError(target, causeCode(error));
  if (error instanceof APIError && error.status !== undefined) {
    const status = error.status;
    if (status === 401 || status === 403) {
      return new AppError(
        'unavailable',
        `the AI provider refused the API key (HTTP ${status} from ${target.baseUrl}); check the key in the AI settings`,
      );
    }
    if (status === 404) {
      return new AppError(
        'unavailable',
        `the model ${target.model} is not available at ${target.baseUrl} (HTTP 404: ${providerMessage(error)})`,
      );
    }
    if (status === 429) {
      return new AppError('rate_limited', `the AI provider at ${target.baseUrl} is limiting requests; try again later`);
    }
    if (status >= 400 && status < 500) {
      return new AppError(
        'unavailable',
        `the AI provider at ${target.baseUrl} rejected the request (HTTP ${status}: ${providerMessage(error)})`,
      );
    }
    return new AppError(
      'unavailable',
      `the AI provider at ${target.baseUrl} failed (HTTP ${status}: ${providerMessage(error)})`,
    );
  }
  const code = causeCode(error);
  if (code) return unreachableError(target, code);
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('unavailable', `the AI provider at ${target.baseUrl} failed: ${message.slice(0, 300)}`);
}
