/*
 * How reconciler replicas split the pods between them, as pure functions (the I/O is loop/shard-keeper.ts).
 *
 * Every pod belongs to one of N shards by a stable hash of `tenant/pod` (an orphan container by the key its
 * labels name). Each shard is a PostgreSQL advisory lock; an instance plans and acts only on the pods of the
 * shards it holds. Instances announce themselves on core NATS every second with the shards they hold and the
 * shards they have actions in flight on ("busy"); each aims for its fair share ceil(N / live instances), takes free
 * shards up to it and gives back extras only once its own actions on them have ended.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes: stable across processes, versions and machines (unlike Math.random seeds). */
export function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** The shard of a pod, by its `tenant/pod` key. */
export const shardOf = (podKey: string, shards: number): number => fnv1a(podKey) % shards;

/** The advisory lock that owns a shard. */
export const shardLockKey = (shard: number): string => `agentpod.reconciler.shard.${shard}`;

/** The most shards an instance aims to hold: ceil(N / live instances), every shard covered. */
export const fairShare = (shards: number, instances: number): number => Math.ceil(shards / Math.max(1, instances));

/**
 * The order in which an instance prefers shards (rendezvous hashing): instances prefer different shards, so
 * replicas starting together rarely reach for the same lock, and the extras one gives back are those it cares
 * least about, likely the ones others prefer.
 */
export function byPreference(instanceId: string, shards: Iterable<number>): number[] {
  const score = new Map<number, number>();
  for (const shard of shards) score.set(shard, fnv1a(`${instanceId}/${shard}`));
  return [...score.keys()].sort((a, b) => (score.get(b) ?? 0) - (score.get(a) ?? 0) || a - b);
}

/**
 * Another live instance, as its last announcement described it. `accepting` is false while it cannot take locks
 * (its lock session fails): it then does not count for the fair share, or the others would keep giving back shards
 * for it that nobody takes.
 */
export type Peer = { instanceId: string; held: readonly number[]; busy: readonly number[]; accepting: boolean };

export type ShardState = {
  /** N, the same on every instance. */
  shards: number;
  self: string;
  /** Locks this instance holds, those being given back included. */
  held: ReadonlySet<number>;
  /** Held shards being given back: no new actions on them; released once their actions in flight have ended. */
  releasing: ReadonlySet<number>;
  /** The other live instances. */
  peers: readonly Peer[];
  /** Since when (ms) each shard held by nobody (as far as the announcements say) has been so. */
  unclaimedSince: ReadonlyMap<number, number>;
  now: number;
  /** A shard nobody claims for this long is taken by anyone, above fair share: better unbalanced than unowned. */
  orphanAfterMs: number;
};

export type ShardDecision = {
  /** The fair share. */
  want: number;
  /** Held shards to start giving back (beyond the fair share). */
  release: number[];
  /** Shards being given back to keep after all (the fair share grew: a peer left). */
  keep: number[];
  /** Unclaimed shards to try, best first; take at most `room` of them. */
  acquire: number[];
  room: number;
  /** Shards unclaimed for too long: try them whatever the fair share. */
  adopt: number[];
};

/** What to take and what to give back, from this instance's view of the others. */
export function decideShards(state: ShardState): ShardDecision {
  const { shards, self, held, releasing, peers, unclaimedSince, now, orphanAfterMs } = state;
  const want = fairShare(shards, peers.filter((peer) => peer.accepting).length + 1);
  const claimed = new Set(peers.flatMap((peer) => peer.held));
  const active = [...held].filter((shard) => !releasing.has(shard));
  const decision: ShardDecision = { want, release: [], keep: [], acquire: [], room: 0, adopt: [] };
  if (active.length > want) {
    // The least preferred go: likely the ones the newcomer prefers.
    decision.release = byPreference(self, active)
      .reverse()
      .slice(0, active.length - want);
    return decision;
  }
  let deficit = want - active.length;
  if (deficit > 0 && releasing.size > 0) {
    decision.keep = byPreference(self, releasing).slice(0, deficit);
    deficit -= decision.keep.length;
  }
  const free: number[] = [];
  for (let shard = 0; shard < shards; shard++) if (!held.has(shard) && !claimed.has(shard)) free.push(shard);
  decision.acquire = deficit > 0 ? byPreference(self, free) : [];
  decision.room = deficit;
  decision.adopt = free.filter((shard) => {
    const since = unclaimedSince.get(shard);
    return since !== undefined && now - since >= orphanAfterMs;
  });
  return decision;
}

/** Keeps `unclaimedSince` current: a shard held by nobody keeps its first time, any other is forgotten. */
export function trackUnclaimed(
  previous: ReadonlyMap<number, number>,
  shards: number,
  held: ReadonlySet<number>,
  peers: readonly Peer[],
  now: number,
): Map<number, number> {
  const claimed = new Set(peers.flatMap((peer) => peer.held));
  const next = new Map<number, number>();
  for (let shard = 0; shard < shards; shard++) {
    if (held.has(shard) || claimed.has(shard)) continue;
    next.set(shard, previous.get(shard) ?? now);
  }
  return next;
}

/**
 * The held shards this instance may act on now: not being given back, and not announced busy by a live peer.
 * A peer that lost a shard (its lock session died while its process lives on) still has actions in flight on it;
 * it keeps announcing the shard busy until they end, and the new holder waits, so one pod never has two actions
 * at once. A peer that died stops announcing and counts once its announcement has expired.
 */
export function actableShards(
  held: ReadonlySet<number>,
  releasing: ReadonlySet<number>,
  peers: readonly Peer[],
): Set<number> {
  const busyElsewhere = new Set(peers.flatMap((peer) => peer.busy));
  return new Set([...held].filter((shard) => !releasing.has(shard) && !busyElsewhere.has(shard)));
}
