import { type Context, eventSubjects, streamName } from '@agentpod/contracts';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';

/** How long JetStream remembers a `Nats-Msg-Id`: a publish retried within this window is stored once. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/**
 * The one definition of each context's event stream. Every service that touches a stream ensures it with this
 * same config, so whichever starts first creates it and the rest find it unchanged.
 * Domain streams keep every event forever: they are the source of truth. `AGENT` holds observations that
 * are rebuilt by the next inventory report, so it keeps 7 days.
 */
export function streamConfig(context: Context): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: streamName(context),
    subjects: [eventSubjects(context)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: context === 'agent' ? nanos(7 * 24 * 3_600_000) : 0,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    allow_direct: true,
    num_replicas: 1,
  };
}

const STREAM_NOT_FOUND = JetStreamApiCodes.StreamNotFound;

/** Creates each context's stream, or brings an existing one to the current config. Safe to run concurrently. */
export async function ensureStreams(jsm: JetStreamManager, contexts: readonly Context[]): Promise<void> {
  for (const context of contexts) {
    const config = streamConfig(context);
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NOT_FOUND) throw error;
      try {
        await jsm.streams.add(config);
      } catch (addError) {
        // Another process created it between our info and add: fine if it now exists.
        await jsm.streams.info(config.name).catch(() => Promise.reject(addError));
      }
    }
  }
}
