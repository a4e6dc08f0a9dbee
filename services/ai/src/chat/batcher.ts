/*
 * Deltas are batched before they go out on NATS: a model emits a token every few milliseconds, and one message per
 * token would flood the gateway and the browser. A throttle with a leading edge: a piece goes out at once when
 * nothing went out in the last `maxDelayMs` (so the first token is not held back), otherwise it waits with the
 * others until `maxDelayMs` after the last send, or until the batch reaches `maxBytes`. `flush()` sends what is
 * left (before `done`).
 */
export class DeltaBatcher {
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  #lastSent = Number.NEGATIVE_INFINITY;
  readonly #send: (text: string) => void;
  readonly #maxDelayMs: number;
  readonly #maxBytes: number;
  readonly #now: () => number;

  constructor(
    send: (text: string) => void,
    options: { maxDelayMs?: number; maxBytes?: number; now?: () => number } = {},
  ) {
    this.#send = send;
    this.#maxDelayMs = options.maxDelayMs ?? 30;
    this.#maxBytes = options.maxBytes ?? 1024;
    this.#now = options.now ?? (() => performance.now());
  }

  push(text: string): void {
    if (!text) return;
    this.#pending += text;
    const wait = this.#lastSent + this.#maxDelayMs - this.#now();
    if (wait <= 0 || Buffer.byteLength(this.#pending) >= this.#maxBytes) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    const text = this.#pending;
    this.#pending = '';
    this.#lastSent = this.#now();
    this.#send(text);
  }
}
