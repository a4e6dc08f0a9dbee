/*
 * The loop's alarm clock: a pass runs every interval, or sooner when something changed. Changes come in bursts
 * (a pod's create is several observations), so pokes within `debounceMs` of each other make one early pass.
 */
export class Wakeup {
  readonly #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #poked = false;
  #wake: (() => void) | undefined;

  constructor(debounceMs: number) {
    this.#debounceMs = debounceMs;
  }

  /** Asks for a pass soon. */
  poke(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#poked = true;
      this.#wake?.();
    }, this.#debounceMs);
  }

  /** Resolves after `ms`, or as soon as a poke lands (one that landed during the last pass counts), or on abort. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#poked || signal.aborted) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        this.#poked = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
  }
}
