import { ReplicaStats } from '@agentpod/contracts';
import { z } from 'zod';
import type { Peer } from '../shards.ts';

/*
 * Replicas announcing themselves: every instance publishes on core NATS (not stored) every second, and at once when
 * what it holds or is busy with changes; every instance listens to all of them (no queue group). The
 * announcements are how an instance counts the live replicas (its fair share), sees which shards are free, waits
 * for a peer's actions on a shard it took over, and answers `reconciler.qry.stats` for every replica.
 */

export const PRESENCE_SUBJECT = 'reconciler.presence';

const Shard = z.number().int().nonnegative();

export const Presence = z.object({
  instanceId: z.string().min(1).max(64),
  /** N as this instance has it configured: replicas that disagree would split the pods differently. */
  shardCount: z.number().int().positive(),
  held: z.array(Shard).max(1_024),
  busy: z.array(Shard).max(1_024),
  /** False while this instance cannot take locks (its lock session fails): it does not count for the fair share. */
  accepting: z.boolean().default(true),
  /** Said once when stopping: forget me now rather than when my announcements expire. */
  leaving: z.boolean().default(false),
  stats: ReplicaStats.omit({ instanceId: true, shards: true, busy: true, reportedAt: true }),
});
export type Presence = z.infer<typeof Presence>;

type Seen = { presence: Presence; at: number };

/** The latest announcement of every other instance, and which of them are live (heard within `expiryMs`). */
export class PresenceBook {
  readonly #self: string;
  readonly #expiryMs: number;
  readonly #seen = new Map<string, Seen>();

  constructor(self: string, expiryMs: number) {
    this.#self = self;
    this.#expiryMs = expiryMs;
  }

  /** Records an announcement; true when it comes from an instance not known (or not live) until now. */
  heard(presence: Presence, now: number): boolean {
    if (presence.instanceId === this.#self) return false;
    if (presence.leaving) {
      this.#seen.delete(presence.instanceId);
      return false;
    }
    const before = this.#seen.get(presence.instanceId);
    this.#seen.set(presence.instanceId, { presence, at: now });
    return before === undefined || now - before.at > this.#expiryMs;
  }

  /** The other instances heard from within the expiry; the expired are forgotten. */
  live(now: number): { presence: Presence; at: number }[] {
    const live: Seen[] = [];
    for (const [instanceId, seen] of this.#seen) {
      if (now - seen.at > this.#expiryMs) this.#seen.delete(instanceId);
      else live.push(seen);
    }
    return live.sort((a, b) => a.presence.instanceId.localeCompare(b.presence.instanceId));
  }

  peers(now: number): Peer[] {
    return this.live(now).map(({ presence }) => ({
      instanceId: presence.instanceId,
      held: presence.held,
      busy: presence.busy,
      accepting: presence.accepting,
    }));
  }
}
