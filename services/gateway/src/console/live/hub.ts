import { type Context, type EventEnvelope, eventSubjects, streamName } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { closeFeeds, type Feed, follow } from '../../events/feed.ts';

/*
 * One set of ordered consumers per gateway, whatever the number of open consoles: each new event of the contexts
 * a console shows is read once and handed to every live session, which filters it for its own user. Consumers
 * start at the newest event (a console loads the current state over REST when it connects) and open on the first
 * session; a context whose stream does not exist yet (its service never started) is tried again every few seconds.
 */

export const LIVE_CONTEXTS = ['pods', 'reconciler', 'agent', 'tenants', 'monitor'] as const satisfies Context[];
const RETRY_MS = 5_000;

export type LiveListener = (envelope: EventEnvelope, context: Context) => void;

export class LiveHub {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #listeners = new Set<LiveListener>();
  readonly #feeds: Feed[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #opened: Promise<void> | undefined;
  #closed = false;

  constructor(nc: NatsConnection, logger: Logger) {
    this.#nc = nc;
    this.#logger = logger;
  }

  /** Adds a listener; resolves once every existing stream is followed, so nothing newer can be missed after. */
  async subscribe(listener: LiveListener): Promise<() => void> {
    this.#listeners.add(listener);
    this.#opened ??= Promise.all(LIVE_CONTEXTS.map((context) => this.#open(context))).then(() => undefined);
    await this.#opened;
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    closeFeeds(this.#feeds.splice(0));
    this.#listeners.clear();
  }

  async #open(context: Context): Promise<void> {
    if (this.#closed) return;
    try {
      const consumer = await jetstream(this.#nc).consumers.get(streamName(context), {
        filter_subjects: eventSubjects(context),
        deliver_policy: DeliverPolicy.New,
      });
      const messages = await consumer.consume({ max_messages: 256 });
      const feed: Feed = { context, messages, iterator: messages[Symbol.asyncIterator](), backlog: 0 };
      if (this.#closed) return closeFeeds([feed]);
      this.#feeds.push(feed);
      follow(feed, (envelope) => this.#deliver(envelope, context)).catch((error: unknown) => {
        this.#logger.error({ err: error, context }, 'live feed failed; following it again');
        this.#feeds.splice(this.#feeds.indexOf(feed), 1);
        closeFeeds([feed]);
        this.#retry(context);
      });
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) {
        this.#logger.warn({ err: error, context }, 'could not follow a stream for the console; trying again');
      }
      this.#retry(context);
    }
  }

  #retry(context: Context): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#open(context);
    }, RETRY_MS);
    timer.unref();
    this.#timers.add(timer);
  }

  #deliver(envelope: EventEnvelope, context: Context): void {
    for (const listener of this.#listeners) {
      try {
        listener(envelope, context);
      } catch (error) {
        this.#logger.error({ err: error, type: envelope.type }, 'a live session failed on an event');
      }
    }
  }
}
