import { type Context, EventEnvelope, eventSubject, eventSubjects, streamName } from '@agentpod/contracts';
import {
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';

/*
 * Reads raw events straight from the streams with ordered (ephemeral, flow-controlled) consumers: no durable
 * state on the server, nothing to clean up but the subscription. Filtering by tenant or type has to look at each
 * envelope (neither is in the subject), so without an aggregate filter a read walks the whole stream.
 */

export type Feed = {
  context: Context;
  messages: ConsumerMessages;
  iterator: AsyncIterator<JsMsg>;
  /** Matching messages stored when the feed was opened: the backlog. */
  backlog: number;
};

export type Located = { envelope: EventEnvelope; context: Context };

/** Opens one context's events (one aggregate's, when given) from the first; undefined when the stream is absent. */
export async function openFeed(
  js: JetStreamClient,
  context: Context,
  aggregate: string | undefined,
): Promise<Feed | undefined> {
  const subject = aggregate ? eventSubject(context, aggregate) : eventSubjects(context);
  try {
    const consumer = await js.consumers.get(streamName(context), {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    const info = await consumer.info();
    const messages = await consumer.consume({ max_messages: 256 });
    return { context, messages, iterator: messages[Symbol.asyncIterator](), backlog: info.num_pending };
  } catch (error) {
    // A context whose service never started has no stream yet, hence no events.
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw error;
  }
}

/** The envelope of a stored message; undefined for anything that is not a valid envelope. */
export function decode(message: JsMsg): EventEnvelope | undefined {
  try {
    const parsed = EventEnvelope.safeParse(message.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Delivers the feed's backlog to `onEvent`, stopping once caught up (the iterator stays open for following). */
export async function drainBacklog(feed: Feed, onEvent: (envelope: EventEnvelope) => void): Promise<void> {
  let remaining = feed.backlog;
  while (remaining > 0) {
    const next = await feed.iterator.next();
    if (next.done) return;
    const envelope = decode(next.value);
    if (envelope) onEvent(envelope);
    remaining = next.value.info.pending;
  }
}

/** Delivers every further event until the feed is closed. */
export async function follow(feed: Feed, onEvent: (envelope: EventEnvelope) => void): Promise<void> {
  for (;;) {
    const next = await feed.iterator.next();
    if (next.done) return;
    const envelope = decode(next.value);
    if (envelope) onEvent(envelope);
  }
}

/**
 * Stops the feeds' consumers (unsubscribes at once). Not `messages.close()`: its promise settles only when
 * something iterates past the stop marker, which never happens for a feed whose iterator was never started.
 */
export function closeFeeds(feeds: readonly Feed[]): void {
  for (const feed of feeds) {
    feed.messages.stop();
    void feed.iterator.return?.(undefined).catch(() => undefined);
  }
}

/** Keeps the last `limit` items pushed (a ring buffer: a long stream costs O(1) per event). */
export class LastN<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly limit: number) {}
  push(item: T): void {
    if (this.items.length < this.limit) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.limit;
  }
  /** Oldest first. */
  values(): T[] {
    return this.items.length < this.limit
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

/** Log order across streams: by decision time, then by id (UUID v7, time-ordered). */
export const byTime = (a: EventEnvelope, b: EventEnvelope): number =>
  Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.id.localeCompare(b.id);
