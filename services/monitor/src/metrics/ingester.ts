import { agentSubjects } from '@agentpod/contracts';
import type { Logger, Sql } from '@agentpod/kit';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  type DropReason,
  decodeMetricsMessage,
  type NodeSampleRow,
  type PodSampleRow,
  rowsOf,
  sampleAge,
} from './decode.ts';
import { RETENTION_MS } from './time.ts';
import { droppedCounter, type Flush, writeFlush } from './writer.ts';

/*
 * The ingester: every replica subscribes to `agent.*.metrics` in the queue group `monitor`, so each message is
 * stored by one of them. A message is decoded at once (a bad one is dropped and counted, never stops the others),
 * its rows queued, and the queue flushed by one transaction every second or as soon as it holds 500 rows. The
 * queue is bounded: when PostgreSQL falls behind, the oldest queued messages are dropped (counted as `overflow`)
 * so memory stays bounded and the freshest data wins.
 *
 *   NATS ─► decode ─► queue (≤ maxQueuedRows) ─► flush (1 s / 500 rows) ─► writeFlush ─► raw tables
 */

export type IngesterOptions = {
  nc: NatsConnection;
  sql: Sql;
  clock: () => Date;
  logger: Logger;
  /** Flush at least this often while rows wait (1 s). */
  flushMs?: number;
  /** Flush as soon as this many rows wait (500). */
  flushRows?: number;
  /** Rows queued at most; beyond, the oldest messages are dropped (50,000). */
  maxQueuedRows?: number;
  /** Rows written by one transaction at most (the rest go in the next, at once) (5,000). */
  maxRowsPerFlush?: number;
};

type Queued = { nodes: NodeSampleRow[]; pods: PodSampleRow[]; rows: number };

/** A dropped message is logged at most this often per reason, with the count since the last line. */
const DROP_LOG_INTERVAL_MS = 60_000;
const RETRY_DELAYS_MS = [250, 500, 1_000, 2_000, 5_000];

export class MetricsIngester {
  readonly #options: Required<IngesterOptions>;
  readonly #queue: Queued[] = [];
  #queuedRows = 0;
  /** Counter deltas not yet written. */
  readonly #pendingCounters = new Map<string, number>();
  readonly #lastLogged = new Map<DropReason, { at: number; since: number }>();
  #subscription: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #stopped = false;

  constructor(options: IngesterOptions) {
    this.#options = { flushMs: 1_000, flushRows: 500, maxQueuedRows: 50_000, maxRowsPerFlush: 5_000, ...options };
  }

  start(): void {
    if (this.#subscription) return;
    this.#subscription = this.#options.nc.subscribe(agentSubjects.allMetrics, {
      queue: 'monitor',
      callback: (error, message) => {
        if (error) {
          this.#options.logger.error({ err: error }, 'metrics subscription error');
          return;
        }
        this.accept(message.subject, message.data);
      },
    });
  }

  /** Stops taking messages and writes what is queued (once; a failure leaves it unwritten). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#subscription?.unsubscribe();
    clearTimeout(this.#timer);
    await this.#flushing;
    if (this.#queuedRows > 0 || this.#pendingCounters.size > 0) {
      await this.#flushOnce().catch((error: unknown) =>
        this.#options.logger.warn({ err: error, rows: this.#queuedRows }, 'metrics not written at shutdown'),
      );
    }
  }

  /** Rows waiting to be written (tests, health). */
  get queuedRows(): number {
    return this.#queuedRows;
  }

  /** One message as it arrived on `subject`. */
  accept(subject: string, data: Uint8Array): void {
    const decoded = decodeMetricsMessage(subject, data);
    if (!decoded.ok) {
      this.#drop(decoded.reason, 1, decoded.detail);
      return;
    }
    const now = this.#options.clock();
    const entry: Queued = { nodes: [], pods: [], rows: 0 };
    for (const sample of decoded.samples) {
      const age = sampleAge(sample.at, now, RETENTION_MS.raw);
      if (age !== 'ok') {
        this.#drop(age, 1, `${decoded.nodeId} at ${sample.at}`);
        continue;
      }
      const { node, pods } = rowsOf(decoded.nodeId, sample);
      entry.nodes.push(node);
      entry.pods.push(...pods);
    }
    entry.rows = entry.nodes.length + entry.pods.length;
    if (entry.rows === 0) return;
    this.#queue.push(entry);
    this.#queuedRows += entry.rows;
    while (this.#queuedRows > this.#options.maxQueuedRows && this.#queue.length > 1) {
      const oldest = this.#queue.shift();
      this.#queuedRows -= oldest?.rows ?? 0;
      this.#drop('overflow', 1, 'PostgreSQL is behind; dropped the oldest queued message');
    }
    this.#schedule();
  }

  #drop(reason: DropReason, count: number, detail: string): void {
    const name = droppedCounter(reason);
    this.#pendingCounters.set(name, (this.#pendingCounters.get(name) ?? 0) + count);
    const now = Date.now();
    const logged = this.#lastLogged.get(reason);
    if (!logged || now - logged.at >= DROP_LOG_INTERVAL_MS) {
      this.#options.logger.warn(
        { reason, detail, droppedSinceLastLine: (logged?.since ?? 0) + count },
        'dropped a metrics message (logged at most once a minute per reason)',
      );
      this.#lastLogged.set(reason, { at: now, since: 0 });
    } else {
      logged.since += count;
    }
    this.#schedule();
  }

  /** Flushes now when enough rows wait, else makes sure a flush comes within flushMs. */
  #schedule(): void {
    if (this.#stopped || this.#flushing) return;
    if (this.#queuedRows >= this.#options.flushRows) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#flushing = this.#flushLoop();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#flushing) this.#flushing = this.#flushLoop();
    }, this.#options.flushMs);
  }

  /** Writes until the queue is empty; on failure keeps the rows and tries again after a growing delay. */
  async #flushLoop(): Promise<void> {
    try {
      while (!this.#stopped && (this.#queuedRows > 0 || this.#pendingCounters.size > 0)) {
        try {
          await this.#flushOnce();
          this.#failures = 0;
        } catch (error) {
          const delay = RETRY_DELAYS_MS[Math.min(this.#failures, RETRY_DELAYS_MS.length - 1)] ?? 5_000;
          if (this.#failures === 0 || this.#failures % 10 === 0) {
            this.#options.logger.error(
              { err: error, queuedRows: this.#queuedRows, retryInMs: delay },
              'could not write metrics; keeping them queued',
            );
          }
          this.#failures++;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
        // Below the size threshold, wait for the timer: a trickle is written once a second, not per message.
        if (this.#queuedRows < this.#options.flushRows) break;
      }
    } finally {
      this.#flushing = undefined;
      if (this.#queuedRows > 0 || this.#pendingCounters.size > 0) this.#schedule();
    }
  }

  async #flushOnce(): Promise<void> {
    const taken: Queued[] = [];
    let rows = 0;
    while (
      this.#queue.length > 0 &&
      (rows === 0 || rows + (this.#queue[0]?.rows ?? 0) <= this.#options.maxRowsPerFlush)
    ) {
      const entry = this.#queue.shift() as Queued;
      taken.push(entry);
      rows += entry.rows;
    }
    this.#queuedRows -= rows;
    const counters = new Map(this.#pendingCounters);
    this.#pendingCounters.clear();
    const flush: Flush = {
      nodes: taken.flatMap((entry) => entry.nodes),
      pods: taken.flatMap((entry) => entry.pods),
      counters,
    };
    try {
      await writeFlush(this.#options.sql, flush);
    } catch (error) {
      // Back at the front, oldest first; the bound still holds (what arrived meanwhile may push the oldest out).
      this.#queue.unshift(...taken);
      this.#queuedRows += rows;
      for (const [name, delta] of counters)
        this.#pendingCounters.set(name, (this.#pendingCounters.get(name) ?? 0) + delta);
      while (this.#queuedRows > this.#options.maxQueuedRows && this.#queue.length > 1) {
        const oldest = this.#queue.shift();
        this.#queuedRows -= oldest?.rows ?? 0;
        const name = droppedCounter('overflow');
        this.#pendingCounters.set(name, (this.#pendingCounters.get(name) ?? 0) + 1);
      }
      throw error;
    }
  }
}
