/**
 * One lane per key: work submitted for a key runs after the work before it has settled, so commands on one
 * aggregate from this process take turns instead of racing each other (and losing, and retrying) on the log.
 * Replicas still race, and optimistic concurrency still decides those races.
 */
export class Lanes {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with work queued or running: empty when idle (nothing is kept for keys no longer used). */
  get size(): number {
    return this.#tails.size;
  }
}
