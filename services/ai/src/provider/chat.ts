import type { AppError, Usage } from '@agentpod/contracts';
import OpenAI, { APIError } from 'openai';
import type { ProviderConfig } from '../config/provider-config.ts';
import { providerError, timeoutError } from './errors.ts';

/*
 * One streamed chat completion against an OpenAI-compatible provider (the `openai` client). It never hangs: the
 * request is aborted when no chunk arrives within the timeout (the first token included), when the caller's
 * signal fires (the user pressed Stop, the service stops), or when the answer grows past MAX_ANSWER_CHARS.
 * Failures come back as a clear AppError, never thrown.
 */

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export type ChatOutcome = {
  /** What arrived (all of it, or the part before a stop or failure). */
  text: string;
  /** As the provider reported it in its last chunk; null when it reported none (stopped, failed, old servers). */
  usage: Usage | null;
  stopped: boolean;
  error: AppError | null;
  /** The provider's HTTP status when it answered with an error. */
  httpStatus: number | null;
};

/** An answer longer than this is cut (and the upstream request ended): it could not be stored or shown anyway. */
export const MAX_ANSWER_CHARS = 100_000;

/** Sent when there is no key: the client needs one, local servers ignore it. */
const PLACEHOLDER_KEY = 'agentpod-no-key';

export async function streamChat(
  provider: ProviderConfig,
  messages: readonly ChatMessage[],
  options: { signal?: AbortSignal; onDelta?: (text: string) => void; json?: boolean } = {},
): Promise<ChatOutcome> {
  const client = new OpenAI({
    baseURL: provider.baseUrl,
    apiKey: provider.apiKey || PLACEHOLDER_KEY,
    // Retrying is ours to decide (it is not: the user sees the error and asks again); the timeout is ours too.
    maxRetries: 0,
    timeout: 24 * 3_600_000,
  });
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, provider.timeoutMs);
  };
  const stop = () => controller.abort();
  if (options.signal?.aborted) return { text: '', usage: null, stopped: true, error: null, httpStatus: null };
  options.signal?.addEventListener('abort', stop, { once: true });

  let text = '';
  let usage: Usage | null = null;
  arm();
  try {
    const stream = await client.chat.completions.create(
      {
        model: provider.model,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        stream: true,
        stream_options: { include_usage: true },
        ...(options.json ? { response_format: { type: 'json_object' as const } } : {}),
      },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      arm();
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        const room = MAX_ANSWER_CHARS - text.length;
        const piece = delta.length > room ? delta.slice(0, room) : delta;
        text += piece;
        if (piece) options.onDelta?.(piece);
        if (text.length >= MAX_ANSWER_CHARS) break;
      }
      if (chunk.usage) {
        usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
      }
    }
    if (timedOut) return { text, usage, stopped: false, error: timeoutError(provider), httpStatus: null };
    return { text, usage, stopped: options.signal?.aborted === true, error: null, httpStatus: null };
  } catch (error) {
    if (options.signal?.aborted) return { text, usage, stopped: true, error: null, httpStatus: null };
    if (timedOut) return { text, usage, stopped: false, error: timeoutError(provider), httpStatus: null };
    const httpStatus = error instanceof APIError && typeof error.status === 'number' ? error.status : null;
    return { text, usage, stopped: false, error: providerError(error, provider), httpStatus };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
    // Ends the HTTP request if it is still open (a `break` above, say).
    controller.abort();
  }
}
