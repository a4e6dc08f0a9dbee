import { AiStreamChunk, ApiError, AppError, type SuggestedCommand } from '@agentpod/contracts';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import { EXIT } from '../output.ts';
import { cleanAnswer, usageText } from './ai-format.ts';

/*
 * An assistant's answer as it streams: the gateway answers NDJSON, one AiStreamChunk per line (`delta`s, then
 * `done` or `error`). Deltas go to stdout as they come; the end (suggested commands, tokens, how to continue)
 * goes to stderr, so stdout holds the answer alone. With --json every chunk is one line on stdout, the `done` line
 * with the conversation's id added. Ctrl-C aborts the request, which is what stops the answer upstream.
 */

/** The gateway's response header naming the conversation of a streamed answer. */
export const CONVERSATION_HEADER = 'x-agentpod-conversation';

/** Lines of a streamed body as they arrive. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = '';
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
  if (buffer !== '') yield buffer;
}

function parseChunk(text: string): AiStreamChunk | undefined {
  if (text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('internal', `the answer stream carried a line that is not JSON: ${text.slice(0, 80)}`);
  }
  const chunk = AiStreamChunk.safeParse(json);
  if (chunk.success) return chunk.data;
  const error = ApiError.safeParse(json);
  if (error.success) return { t: 'error', error: error.data.error };
  throw new AppError('internal', 'the answer stream carried a line that is not an answer chunk');
}

function suggestions(commands: readonly z.infer<typeof SuggestedCommand>[]): string {
  if (commands.length === 0) return '';
  const lines = commands.flatMap(({ command, explanation }) => [
    `  $ ${cleanAnswer(command)}`,
    ...(explanation ? [`      ${cleanAnswer(explanation)}`] : []),
  ]);
  return `\nSuggested commands (nothing was run; run them yourself in the pod's terminal):\n${lines.join('\n')}\n`;
}

export type StreamedAnswer = { response: Response; tenantId: string };

/** Prints a streamed answer and returns the exit code: 0 done, 1 an error from the provider, 130 Ctrl-C. */
export async function printAnswer(ctx: Context, { response, tenantId }: StreamedAnswer): Promise<number> {
  const { stdout, stderr } = ctx.io;
  const conversationId = response.headers.get(CONVERSATION_HEADER) ?? undefined;
  let endsWithNewline = true;
  const endLine = () => {
    if (!endsWithNewline) stdout.write('\n');
    endsWithNewline = true;
  };
  try {
    if (!response.body) throw new AppError('unavailable', 'the gateway answered without a body');
    for await (const text of ndjsonLines(response.body)) {
      const chunk = parseChunk(text);
      if (!chunk) continue;
      if (ctx.out.json) {
        const line = chunk.t === 'done' && conversationId ? { ...chunk, conversationId } : chunk;
        stdout.write(`${JSON.stringify(line)}\n`);
      }
      switch (chunk.t) {
        case 'delta':
          if (!ctx.out.json && chunk.text !== '') {
            stdout.write(cleanAnswer(chunk.text));
            endsWithNewline = chunk.text.endsWith('\n');
          }
          break;
        case 'done':
          if (!ctx.out.json) {
            endLine();
            const continueWith = conversationId
              ? ` · conversation ${conversationId} (continue: agentpod ai ask --tenant ${tenantId} --conversation ${conversationId} "…")`
              : '';
            stderr.write(
              `${suggestions(chunk.commands)}${chunk.stopped ? '(stopped)\n' : ''}tokens: ${usageText(chunk.usage)}${continueWith}\n`,
            );
          }
          return EXIT.ok;
        case 'error':
          // The provider's failure (down, wrong key, unknown model, timeout) is the answer's, not the CLI's: exit 1.
          if (!ctx.out.json) {
            endLine();
            stderr.write(`agentpod: ${cleanAnswer(chunk.error.message)}\n`);
          }
          return EXIT.failure;
        default: {
          const unknown: never = chunk;
          throw new Error(`unknown chunk ${JSON.stringify(unknown)}`);
        }
      }
    }
  } catch (error) {
    if (ctx.io.signal.aborted) {
      // Ctrl-C: the request is closed, so the gateway stops the answer upstream.
      if (!ctx.out.json) {
        endLine();
        stderr.write('(stopped)\n');
      }
      return EXIT.interrupted;
    }
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', `the answer stream broke: ${(error as Error).message}`);
  }
  if (ctx.io.signal.aborted) return EXIT.interrupted;
  throw new AppError('unavailable', 'the answer stream ended before the answer did');
}
