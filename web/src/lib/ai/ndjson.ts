/*
 * The assistant's answers come as NDJSON (one AiStreamChunk per line). Network chunks split lines anywhere, even
 * inside a multi-byte UTF-8 character: bytes are decoded in streaming mode and only whole lines are handed on.
 */

export class NdjsonLines {
  readonly #decoder = new TextDecoder();
  #rest = '';

  /** The lines completed by these bytes (blank lines skipped); an unfinished line waits for the next call. */
  push(bytes: Uint8Array): string[] {
    const lines = (this.#rest + this.#decoder.decode(bytes, { stream: true })).split('\n');
    this.#rest = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '');
  }

  /** The body ended: a last line without its newline, if any. */
  end(): string[] {
    const last = this.#rest + this.#decoder.decode();
    this.#rest = '';
    return last.trim() === '' ? [] : [last];
  }
}
