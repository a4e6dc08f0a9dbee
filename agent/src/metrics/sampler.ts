import type { MetricsSample } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { MetricsBacklog, type MetricsFrame } from './backlog.ts';

export type SamplerDeps = {
  /** One round; undefined when it gives no sample (the first, priming one). */
  collect: () => Promise<MetricsSample | undefined>;
  /** Writes a frame to the socket (only called while `ready()`). */
  send: (frame: MetricsFrame) => void;
  /** The connection is up and past its hello. */
  ready: () => boolean;
  intervalMs: number;
  logger: Logger;
  backlog?: MetricsBacklog;
};

/**
 * Runs a round every `intervalMs` (the next one is due an interval after the previous one was, so rounds do
 * not drift; a round never overlaps the previous one: a late one skips what it missed) and sends each sample
 * while the connection is up. Metrics are not durable observations: while it is down they wait in a bounded
 * backlog, sent oldest first once it is ready again (`flush`). Nothing a round does throws out of the timer.
 */
export class MetricsSampler {
  readonly #deps: SamplerDeps;
  readonly #backlog: MetricsBacklog;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #failures = 0;

  constructor(deps: SamplerDeps) {
    this.#deps = deps;
    this.#backlog = deps.backlog ?? new MetricsBacklog();
  }

  /** Rounds waiting to be sent. */
  get waiting(): number {
    return this.#backlog.size;
  }

  /** Starts now with a priming round; then every interval. */
  start(): void {
    if (this.#stopped || this.#timer || this.#running) return;
    this.#schedule(performance.now());
  }

  /** One round now, then what waits is sent if the connection is ready. Never rejects. */
  async round(): Promise<void> {
    try {
      const sample = await this.#deps.collect();
      if (this.#stopped) return;
      if (sample) this.#backlog.push(sample);
      if (this.#failures > 0) this.#deps.logger.info({ failures: this.#failures }, 'metrics sampling works again');
      this.#failures = 0;
    } catch (error) {
      // Said once, then every 60th failure in a row: a broken /proc must not flood the log every 10 s.
      if (this.#failures++ % 60 === 0)
        this.#deps.logger.warn({ err: error, failures: this.#failures }, 'a metrics round failed; trying again');
    }
    this.flush();
  }

  /** Sends the backlog, oldest first, while the connection is ready. */
  flush(): void {
    try {
      while (!this.#stopped && this.#deps.ready()) {
        const frame = this.#backlog.takeFrame();
        if (!frame) return;
        this.#deps.send(frame);
      }
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'could not send metrics; they are dropped');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(due: number): void {
    const delay = Math.max(0, due - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.round().finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        // The next round is an interval after this one was due; any missed while this one ran are skipped.
        let next = due + this.#deps.intervalMs;
        const now = performance.now();
        if (next < now) next += Math.ceil((now - next) / this.#deps.intervalMs) * this.#deps.intervalMs;
        this.#schedule(next);
      });
    }, delay);
    // The agent's socket keeps the process alive; its metrics alone never should.
    this.#timer.unref();
  }
}
