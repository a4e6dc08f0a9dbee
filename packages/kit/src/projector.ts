import { type Context, streamName } from '@agentpod/contracts';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Sql } from './connections.ts';
import { type LeaderLock, LeaderLocks } from './leader-locks.ts';
import type { Logger } from './logger.ts';
import { applyBatch, consumeInBatches, type Projection, projectionFilter, readCheckpoint } from './projection.ts';

export type ProjectorStatus = { projection: string; leader: boolean; checkpoint: number; applied: number };

/**
 * Runs one projection from a durable JetStream consumer into PostgreSQL. Only one replica of a service runs
 * a given projection at a time: the one holding its PostgreSQL advisory lock; the others wait to take over.
 * The locks of a service's projectors share one connection (`locks`); a projector given none keeps its own.
 * The checkpoint in PostgreSQL is the position of record: at each start the durable consumer is recreated
 * from it, so a crash mid-batch replays exactly the uncommitted events, without waiting for ack_wait.
 */
export type ProjectorOptions<DB> = {
  service: string;
  schema: string;
  projection: Projection<DB>;
  db: Kysely<DB>;
  sql: Sql;
  /** The service's shared lock connection; when absent the projector reserves one of its own while running. */
  locks?: LeaderLocks;
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  batchSize?: number;
  leaderPollMs?: number;
};

export class Projector<DB> {
  readonly #options: ProjectorOptions<DB>;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #messages: ConsumerMessages | undefined;
  #status: ProjectorStatus;
  /** Set while running when no shared `locks` were given. */
  #ownLocks: LeaderLocks | undefined;

  constructor(options: ProjectorOptions<DB>) {
    this.#options = options;
    this.#status = { projection: options.projection.name, leader: false, checkpoint: 0, applied: 0 };
  }

  /** The stream this projector reads. */
  get context(): Context {
    return this.#options.projection.context;
  }

  get durableName(): string {
    return `${this.#options.service}_${this.#options.projection.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  status(): ProjectorStatus {
    return { ...this.#status };
  }

  start(): void {
    if (this.#running) return;
    this.#abort = new AbortController();
    if (!this.#options.locks) {
      this.#ownLocks = new LeaderLocks({ sql: this.#options.sql, logger: this.#options.logger });
    }
    const locks = this.#options.locks ?? this.#ownLocks;
    if (!locks) throw new Error('unreachable: a projector always has leader locks');
    this.#running = this.#run(this.#abort.signal, locks).catch((error: unknown) => {
      if (!this.#abort.signal.aborted) this.#options.logger.fatal({ err: error }, 'projector stopped');
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#messages?.close();
    await this.#running;
    this.#running = undefined;
    await this.#ownLocks?.close();
    this.#ownLocks = undefined;
  }

  /** Resolves once the projection has applied everything up to `seq` (tests and replay use it). */
  async waitFor(seq: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#status.checkpoint < seq) {
      if (Date.now() > deadline) {
        throw new Error(`projection ${this.#status.projection} reached ${this.#status.checkpoint}, not ${seq}`);
      }
      this.#status.checkpoint = await readCheckpoint(this.#options.db as Kysely<unknown>, this.#status.projection);
      if (this.#status.checkpoint < seq) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #run(signal: AbortSignal, locks: LeaderLocks): Promise<void> {
    const { logger, projection } = this.#options;
    const lockKey = `agentpod.projection.${this.#options.schema}.${projection.name}`;
    while (!signal.aborted) {
      let lock: LeaderLock | undefined;
      try {
        lock = await locks.tryAcquire(lockKey);
        if (!lock) {
          await sleep(this.#options.leaderPollMs ?? 1_000, signal);
          continue;
        }
        if (signal.aborted) return;
        this.#status.leader = true;
        logger.info({ projection: projection.name }, 'projection leader; consuming');
        await this.#lead(signal, lock.lost);
      } catch (error) {
        if (signal.aborted) return;
        logger.error({ err: error, projection: projection.name }, 'projection interrupted; restarting');
        await sleep(1_000, signal);
      } finally {
        this.#status.leader = false;
        await lock?.release();
      }
    }
  }

  /** Consumes until `signal` aborts or the lock is `lost` (its connection died): then it stops leading. */
  async #lead(signal: AbortSignal, lost: AbortSignal): Promise<void> {
    const { db, js, jsm, projection, logger } = this.#options;
    const stream = streamName(projection.context);
    const checkpoint = await readCheckpoint(db as Kysely<unknown>, projection.name);
    this.#status.checkpoint = checkpoint;
    await jsm.consumers.delete(stream, this.durableName).catch(() => false);
    await jsm.consumers.add(stream, {
      durable_name: this.durableName,
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: checkpoint + 1,
      filter_subject: projectionFilter(projection),
      ack_wait: nanos(60_000),
      max_ack_pending: 20_000,
    });
    const consumer = await js.consumers.get(stream, this.durableName);
    const batchSize = this.#options.batchSize ?? 500;
    const messages = await consumer.consume({ max_messages: batchSize * 2 });
    this.#messages = messages;
    // stop() may have run while the consumer was being set up, before these messages existed to be closed.
    const closeOnAbort = () => void messages.close();
    if (signal.aborted) closeOnAbort();
    else signal.addEventListener('abort', closeOnAbort, { once: true });
    const stepDown = () => {
      logger.error({ projection: projection.name }, 'lost the projection lock; stepping down');
      void messages.close();
    };
    if (lost.aborted) stepDown();
    else lost.addEventListener('abort', stepDown, { once: true });
    try {
      await consumeInBatches({
        messages,
        batchSize,
        logger,
        signal,
        flush: async ({ messages: batch, last }) => {
          const applied = await applyBatch(db, projection, batch);
          last.ack();
          this.#status.applied += applied;
          this.#status.checkpoint = Math.max(this.#status.checkpoint, last.seq);
        },
      });
    } finally {
      signal.removeEventListener('abort', closeOnAbort);
      lost.removeEventListener('abort', stepDown);
      await messages.close();
    }
  }
}

/** Waits `ms`, or less when `signal` aborts (so stop() does not wait out a poll). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
