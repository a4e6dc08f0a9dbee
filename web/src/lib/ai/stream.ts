import type { AiStreamChunk, ErrorBody } from '@agentpod/contracts';
import { apiUrl, CSRF_COOKIE, CSRF_HEADER, cookie } from '../api.ts';
import { connection } from '../connection.svelte.ts';
import { readAnswer } from './answer-reader.ts';
import { readError } from './chunk.ts';
import type { StreamEnd } from './turn.ts';

/*
 * POSTs to a streaming route of the assistant (`aiAsk`, `aiDiagnose`) and hands each chunk on as it arrives.
 * The CSRF header is the one api.ts sends with every change. Aborting the signal (Stop) cancels the request: the
 * gateway sees its client go and tells the ai service to stop the provider's request.
 */

/** The gateway names the conversation an answer belongs to in this header (services/gateway/src/api/ai-routes.ts). */
const CONVERSATION_HEADER = 'x-agentpod-conversation';

export type AnswerOptions = {
  body?: unknown;
  signal: AbortSignal;
  /** The answer started; the conversation it belongs to (null if the gateway did not say). */
  onStart(conversationId: string | null): void;
  onChunk(chunk: AiStreamChunk): void;
};

/** 'finished': a `done` or `error` chunk ended it; otherwise how it ended instead. */
export async function streamAnswer(path: string, options: AnswerOptions): Promise<'finished' | StreamEnd> {
  const headers: Record<string, string> = { accept: 'application/x-ndjson' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const csrf = cookie(CSRF_COOKIE);
  if (csrf) headers[CSRF_HEADER] = csrf;
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (isAbort(error)) return { how: 'stopped' };
    connection.unreachable();
    return failed('unavailable', 'The control plane cannot be reached.');
  }
  if (!response.ok || !response.body) {
    if (response.status === 502) connection.unreachable();
    return { how: 'failed', error: await errorOf(response) };
  }
  options.onStart(response.headers.get(CONVERSATION_HEADER));
  try {
    return (await readAnswer(response.body, options.onChunk)) === 'finished' ? 'finished' : { how: 'cut' };
  } catch (error) {
    return isAbort(error) ? { how: 'stopped' } : { how: 'cut' };
  }
}

async function errorOf(response: Response): Promise<ErrorBody> {
  if (response.status === 401) return { code: 'unauthenticated', message: 'Your session has ended: sign in again.' };
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = readError((body as { error?: unknown } | undefined)?.error);
  return error ?? { code: 'internal', message: `The server answered ${response.status}.` };
}

const failed = (code: ErrorBody['code'], message: string): StreamEnd => ({ how: 'failed', error: { code, message } });
const isAbort = (error: unknown): boolean => (error as Error | undefined)?.name === 'AbortError';
