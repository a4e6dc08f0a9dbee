import type { AiStreamChunk } from '@agentpod/contracts';
import { readChunk } from './chunk.ts';
import { NdjsonLines } from './ndjson.ts';

/*
 * Reads an answer's NDJSON body chunk by chunk as it arrives. It ends at the first `done` or `error` (the answer is
 * over whatever follows) or when the body ends; a body that ends without either was cut off. Stopping is the
 * caller's AbortSignal, which rejects the pending read with an AbortError (passed on).
 */
export async function readAnswer(
  body: ReadableStream<Uint8Array>,
  onChunk: (chunk: AiStreamChunk) => void,
): Promise<'finished' | 'cut'> {
  const reader = body.getReader();
  const lines = new NdjsonLines();
  const deliver = (batch: string[]): boolean => {
    for (const line of batch) {
      const chunk = readChunk(line);
      if (!chunk) continue;
      onChunk(chunk);
      if (chunk.t !== 'delta') return true;
    }
    return false;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return deliver(lines.end()) ? 'finished' : 'cut';
      if (deliver(lines.push(value))) return 'finished';
    }
  } finally {
    // Releases the connection when we stop early (after `done`, or on an error of ours).
    reader.cancel().catch(() => {});
  }
}
