import { type Context, EventEnvelope, eventSubject, streamName } from '@agentpod/contracts';
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';

/*
 * A pod's recent events, read straight from the streams (PODS: what its operators did; RECONCILER: what the
 * platform did and saw fail) with an ordered consumer: ephemeral, nothing to clean up. Only the window of the
 * last day is read, so a pod that crash-looped for weeks costs a bounded walk.
 */

const SCAN_LIMIT = 5_000;

/** The last `limit` events of one aggregate since `since`, oldest first; [] when the stream does not exist. */
export async function recentEvents(
  js: JetStreamClient,
  context: Context,
  aggregateId: string,
  options: { since: Date; limit: number },
): Promise<EventEnvelope[]> {
  let consumer: Awaited<ReturnType<JetStreamClient['consumers']['get']>>;
  let pending: number;
  try {
    consumer = await js.consumers.get(streamName(context), {
      filter_subjects: eventSubject(context, aggregateId),
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: options.since.toISOString(),
    });
    pending = (await consumer.info()).num_pending;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return [];
    throw error;
  }
  if (pending === 0) return [];
  const kept: EventEnvelope[] = [];
  const messages = await consumer.consume({ max_messages: 256 });
  try {
    let seen = 0;
    for await (const message of messages) {
      seen++;
      const parsed = EventEnvelope.safeParse(safeJson(message.string()));
      if (parsed.success) {
        kept.push(parsed.data);
        if (kept.length > options.limit) kept.shift();
      }
      if (message.info.pending === 0 || seen >= Math.min(pending, SCAN_LIMIT)) break;
    }
  } finally {
    messages.stop();
  }
  return kept;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
