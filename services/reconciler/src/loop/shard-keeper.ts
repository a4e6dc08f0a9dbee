import type { LeaderLock, LeaderLocks, Logger } from '@agentpod/kit';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { actableShards, decideShards, fairShare, type Peer, shardLockKey, trackUnclaimed } from '../shards.ts';
import { PRESENCE_SUBJECT, Presence, PresenceBook } from './presence.ts';

/*
 * This instance's shards: the advisory locks it holds (one per shard, all on the process's one lock session, so
 * a replica that dies loses them all at once), its announcements on `reconciler.presence`, and a tick every
 * `pollMs` that takes free shards up to the fair share and gives back extras once nothing of ours is in flight on
 * them. The decisions are the pure functions of shards.ts.
 */

export type KeeperDeps = {
  locks: LeaderLocks;
  nc: NatsConnection;
  logger: Logger;
  instanceId: string;
  shardCount: number;
  /** Shards with actions of this instance in flight. */
  busy: () => ReadonlySet<number>;
  /** What the announcement says about this instance's passes. */
  stats: () => Presence['stats'];
  /** The shards this instance may act on changed (a pass should run). */
  onChange: () => void;
  now?: () => number;
  /** How often free shards are looked for; a dead replica's shards are taken within about expiry + this. */
  pollMs?: number;
  presenceMs?: number;
  /** A replica not heard from for this long is dead: its shards are up for taking. */
  expiryMs?: number;
  /** Before the first tick: time for the others' announcements to arrive, so a newcomer does not grab everything. */
  settleMs?: number;
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const sorted = (shards: Iterable<number>) => [...shards].sort((a, b) => a - b);
const sameSet = (a: ReadonlySet<number>, b: ReadonlySet<number>) => a.size === b.size && [...a].every((x) => b.has(x));

export class ShardKeeper {
  readonly #deps: KeeperDeps;
  readonly #now: () => number;
  readonly #book: PresenceBook;
  readonly #held = new Map<number, LeaderLock>();
  readonly #releasing = new Set<number>();
  #unclaimed = new Map<number, number>();
  #actable = new Set<number>();
  /** False since asking for a lock failed, until asking works again. */
  #accepting = true;
  #abort = new AbortController();
  #ticking: Promise<void> | undefined;
  #announcing: NodeJS.Timeout | undefined;
  #subscription: Subscription | undefined;

  constructor(deps: KeeperDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#book = new PresenceBook(deps.instanceId, deps.expiryMs ?? 3_000);
  }

  /** Held shards this instance may act on now (see `actableShards`). */
  actable(): ReadonlySet<number> {
    return this.#actable;
  }

  held(): number[] {
    return sorted(this.#held.keys());
  }

  /** The other live instances' latest announcements. */
  peers(): { presence: Presence; at: number }[] {
    return this.#book.live(this.#now());
  }

  /** Live instances, this one included. */
  liveCount(): number {
    return this.peers().length + 1;
  }

  /**
   * Instances heard from within `withinMs`, this one included: those that should answer a request now (a replica
   * killed a moment ago still counts as live until its announcements expire, but is no longer fresh).
   */
  freshCount(withinMs: number): number {
    const since = this.#now() - withinMs;
    return this.peers().filter(({ at }) => at >= since).length + 1;
  }

  start(): void {
    if (this.#ticking) return;
    this.#abort = new AbortController();
    const { nc, logger } = this.#deps;
    this.#subscription = nc.subscribe(PRESENCE_SUBJECT);
    void (async () => {
      for await (const message of this.#subscription ?? []) {
        let presence: Presence;
        try {
          presence = Presence.parse(message.json());
        } catch {
          logger.warn({ subject: message.subject }, 'ignoring a malformed reconciler announcement');
          continue;
        }
        this.#hear(presence);
      }
    })();
    this.announce();
    this.#announcing = setInterval(() => this.announce(), this.#deps.presenceMs ?? 1_000);
    this.#ticking = this.#tickLoop(this.#abort.signal);
  }

  /** Stops taking shards, says goodbye, and gives every shard back. Call once no action is in flight any more. */
  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#announcing);
    await this.#ticking;
    this.#ticking = undefined;
    const locks = [...this.#held.values()];
    this.#held.clear();
    this.#releasing.clear();
    this.#refreshActable();
    await Promise.all(locks.map((lock) => lock.release().catch(() => {})));
    this.#publish(true);
    this.#subscription?.unsubscribe();
    await this.#deps.nc.flush().catch(() => {});
  }

  /** Announces this instance now (also every `presenceMs`): held shards, busy shards, pass statistics. */
  announce(): void {
    if (this.#abort.signal.aborted) return;
    this.#publish(false);
  }

  #publish(leaving: boolean): void {
    const { nc, instanceId, shardCount, busy, stats, logger } = this.#deps;
    const presence: Presence = {
      instanceId,
      shardCount,
      held: this.held(),
      busy: sorted(busy()),
      accepting: this.#accepting,
      leaving,
      stats: stats(),
    };
    try {
      nc.publish(PRESENCE_SUBJECT, JSON.stringify(presence));
    } catch (error) {
      logger.warn({ err: error }, 'could not announce this reconciler replica');
    }
  }

  #hear(presence: Presence): void {
    const { instanceId, shardCount, logger } = this.#deps;
    if (presence.instanceId === instanceId) return;
    if (presence.shardCount !== shardCount) {
      logger.error(
        { peer: presence.instanceId, theirs: presence.shardCount, ours: shardCount },
        'a reconciler replica has another AGENTPOD_RECONCILE_SHARDS: pods would be split two ways; set one value',
      );
      return;
    }
    // A newcomer learns of us at once instead of after a second, before its first tick.
    if (this.#book.heard(presence, this.#now())) this.announce();
    this.#refreshActable();
  }

  async #tickLoop(signal: AbortSignal): Promise<void> {
    await sleep(this.#deps.settleMs ?? 300, signal);
    while (!signal.aborted) {
      try {
        await this.#tick(signal);
      } catch (error) {
        this.#deps.logger.error({ err: error }, 'shard bookkeeping failed; trying again');
      }
      await sleep(this.#deps.pollMs ?? 500, signal);
    }
  }

  async #tick(signal: AbortSignal): Promise<void> {
    const { shardCount, instanceId, busy, logger } = this.#deps;
    const now = this.#now();
    const peers: Peer[] = this.#book.peers(now);
    const held = new Set(this.#held.keys());
    this.#unclaimed = trackUnclaimed(this.#unclaimed, shardCount, held, peers, now);
    const decision = decideShards({
      shards: shardCount,
      self: instanceId,
      held,
      releasing: this.#releasing,
      peers,
      unclaimedSince: this.#unclaimed,
      now,
      orphanAfterMs: this.#deps.expiryMs ?? 3_000,
    });
    let changed = false;
    for (const shard of decision.keep) this.#releasing.delete(shard);
    if (decision.release.length > 0) {
      for (const shard of decision.release) this.#releasing.add(shard);
      logger.info(
        { shards: decision.release, fairShare: decision.want, replicas: peers.length + 1 },
        'giving back shards beyond the fair share once their actions in flight end',
      );
    }
    // No new actions on them from now on.
    this.#refreshActable();
    // Nothing of ours in flight on them: they go now (the pass no longer starts actions on a shard releasing).
    const inFlight = busy();
    for (const shard of [...this.#releasing]) {
      if (inFlight.has(shard)) continue;
      const lock = this.#held.get(shard);
      this.#releasing.delete(shard);
      this.#held.delete(shard);
      await lock?.release().catch((error: unknown) => logger.warn({ err: error, shard }, 'could not release a shard'));
      changed = true;
    }
    let room = decision.room;
    for (const shard of decision.acquire) {
      if (room <= 0 || signal.aborted) break;
      if (await this.#take(shard)) {
        room--;
        changed = true;
      }
    }
    for (const shard of decision.adopt) {
      if (signal.aborted || this.#held.has(shard)) continue;
      if (await this.#take(shard)) {
        logger.warn({ shard }, 'took a shard no replica had claimed for a while');
        changed = true;
      }
    }
    if (changed) {
      logger.info({ shards: this.held(), fairShare: fairShare(shardCount, peers.length + 1) }, 'holding shards');
      this.announce();
    }
    this.#refreshActable();
  }

  async #take(shard: number): Promise<boolean> {
    let lock: LeaderLock | undefined;
    try {
      lock = await this.#deps.locks.tryAcquire(shardLockKey(shard));
    } catch (error) {
      if (this.#accepting) this.#deps.logger.warn({ err: error, shard }, 'could not ask for a shard lock');
      this.#accepting = false;
      return false;
    }
    this.#accepting = true;
    if (!lock) return false;
    const taken = lock;
    this.#held.set(shard, taken);
    taken.lost.addEventListener(
      'abort',
      () => {
        if (this.#held.get(shard) !== taken) return;
        // The lock session died: another replica may take the shard. Our actions in flight on it go on and stay
        // announced as busy, so the new holder waits for them.
        this.#held.delete(shard);
        this.#releasing.delete(shard);
        this.#deps.logger.warn({ shard }, 'lost a shard lock');
        this.announce();
        this.#refreshActable();
      },
      { once: true },
    );
    return true;
  }

  #refreshActable(): void {
    const next = actableShards(new Set(this.#held.keys()), this.#releasing, this.#book.peers(this.#now()));
    if (sameSet(next, this.#actable)) return;
    this.#actable = next;
    this.#deps.onChange();
  }
}
