import { METRICS_BACKLOG_SAMPLES, METRICS_SAMPLES_PER_FRAME, type MetricsSample } from '@agentpod/contracts';

/**
 * Bytes of JSON per `metrics` frame at most. The gateway publishes a frame as one core NATS message, and NATS
 * refuses messages over its max_payload (1 MiB by default): a backlog of 30 rounds of a busy node is cut into
 * more frames instead.
 */
export const METRICS_FRAME_BUDGET_BYTES = 512 * 1024;

export type MetricsFrame = { t: 'metrics'; samples: MetricsSample[] };

/**
 * The rounds not sent yet, oldest first. Bounded: while the control plane is away, the oldest are dropped first,
 * so an agent cut off for a day keeps the last hour (at the default interval) and a steady memory.
 */
export class MetricsBacklog {
  readonly #limit: number;
  readonly #entries: { sample: MetricsSample; bytes: number }[] = [];
  #dropped = 0;

  constructor(limit = METRICS_BACKLOG_SAMPLES) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Rounds dropped since the start because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  push(sample: MetricsSample): void {
    this.#entries.push({ sample, bytes: JSON.stringify(sample).length });
    while (this.#entries.length > this.#limit) {
      this.#entries.shift();
      this.#dropped += 1;
    }
  }

  /**
   * Takes the oldest rounds as one frame: up to METRICS_SAMPLES_PER_FRAME, and no more than the byte budget
   * (a single round over the budget still goes, alone). Undefined when empty.
   */
  takeFrame(budgetBytes = METRICS_FRAME_BUDGET_BYTES): MetricsFrame | undefined {
    let count = 0;
    let bytes = 0;
    for (const entry of this.#entries) {
      if (count >= METRICS_SAMPLES_PER_FRAME || (count > 0 && bytes + entry.bytes > budgetBytes)) break;
      count += 1;
      bytes += entry.bytes;
    }
    if (count === 0) return undefined;
    return { t: 'metrics', samples: this.#entries.splice(0, count).map((entry) => entry.sample) };
  }
}
