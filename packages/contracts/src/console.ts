import type { EventEnvelope } from './envelope.ts';
import type { PodView } from './pod-lifecycle.ts';

/*
 * `/console/live`, the console's WebSocket of live changes: what it sends the console (JSON text frames; the console sends nothing). The gateway (services/gateway/src/console)
 * sends them and the console (web/src/lib/live.svelte.ts) reads them. Views are fetched as the socket's user, so the owning service has
 * authorised each one; events are the log's, filtered to the user's tenants, secret fields redacted.
 */

export type LiveMessage =
  /**
   * Subscribed: every change from now on will be pushed. `pods` is every pod the user may see, read after the
   * subscription started (so no change can fall between the two), when the socket was opened with `?pods=1`;
   * null otherwise or when the pods service could not answer (load them over REST then).
   */
  | { type: 'ready'; platformAdmin: boolean; tenants: string[] | 'all'; pods: PodView[] | null }
  /** Pods whose view changed (fresh from the pods service), and pods that no longer exist. */
  | { type: 'pods'; pods: PodView[]; removed: { tenantId: string; podId: string }[] }
  /** Nodes that changed; the console reloads the ones it shows. */
  | { type: 'nodes'; nodeIds: string[] }
  /** A new event of a tenant the user sees (all events for a platform admin), for timelines and the overview. */
  | { type: 'event'; context: string; event: EventEnvelope }
  /** The user's tenants changed (joined, left, role changed): reload what depends on them. */
  | { type: 'scope'; tenants: string[] | 'all' }
  /** Keep-alive, every few seconds: a console that hears nothing for a while knows the gateway is gone. */
  | { type: 'ping' };

/** Close codes the console acts on. */
export const LIVE_CLOSE = {
  /** The session ended (signed out, expired, revoked): sign in again. */
  signedOut: 4401,
  /** The console read too slowly and fell behind: reconnect and reload. */
  behind: 4408,
  /** The gateway is stopping: reconnect later. */
  goingAway: 1001,
} as const;
