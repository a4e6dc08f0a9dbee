import {
  type Context,
  type ErrorBody,
  newId,
  type PlanWait,
  type ReconcileActionOutcome,
  type ReconcilerStats,
  type ReplicaStats,
  type RequestMeta,
  streamName,
  systemActor,
} from '@agentpod/contracts';
import type { LeaderLocks, Logger } from '@agentpod/kit';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { carryOut, natsPorts } from '../apply/applier.ts';
import type { OutcomeRecorder } from '../apply/record.ts';
import type { ReconcilerDb } from '../db.ts';
import type { NodeLiveness } from '../observed/liveness.ts';
import { actionKey, type PlannedAction } from '../plan/model.ts';
import { shardOf } from '../shards.ts';
import { loadWorld } from '../world.ts';
import { type PassPolicy, planWorld, podsIn, worldOfShards } from './plan-pass.ts';
import type { Presence } from './presence.ts';
import { ShardKeeper } from './shard-keeper.ts';
import { Wakeup } from './wakeup.ts';

/*
 * The loop of one reconciler instance. Its ShardKeeper holds some of the pods' shards; every interval (soon after a
 * change, and at the moment the planner said a backoff ends) a pass waits for the read models to catch up with the
 * streams, plans the pods of the shards it may act on, and sends each action whose pod has none in flight. It
 * does not wait for the actions: a slow create must not hold back other pods. Each action ends by recording its
 * outcome and waiting until the history shows it, so the pod is never planned on a history that lacks it.
 */

export type LoopDeps = {
  db: Kysely<ReconcilerDb>;
  locks: LeaderLocks;
  nc: NatsConnection;
  jsm: JetStreamManager;
  recorder: OutcomeRecorder;
  liveness: NodeLiveness;
  logger: Logger;
  clock: () => Date;
  intervalMs: number;
  policy: PassPolicy;
  instanceId: string;
  /** AGENTPOD_RECONCILE_SHARDS. */
  shardCount: number;
  /** Resolves once this service's projections of `context` have applied `seq` (the kit runtime's caughtUp). */
  caughtUp: (context: Context, seq: number, timeoutMs?: number) => Promise<void>;
  maxActionsInFlight?: number;
  debounceMs?: number;
  /** The shard keeper's timing (tests shorten it). */
  shardTiming?: { pollMs?: number; presenceMs?: number; expiryMs?: number; settleMs?: number };
};

/** An action a pass started, and how it ends. */
export type StartedAction = { action: PlannedAction; outcome: Promise<ReconcileActionOutcome> };

/** What one pass did. */
export type PassReport = {
  instanceId: string;
  shards: number[];
  durationMs: number;
  /** Why the pass did not plan, or null. */
  skipped: string | null;
  started: StartedAction[];
  waits: PlanWait[];
};

const READ_MODELS: readonly Context[] = ['pods', 'agent', 'reconciler'];
const STOP_WAIT_MS = 10_000;
/** The soonest a pass follows the previous one when the planner says a wait ends (no busy loop on past times). */
const MIN_WAIT_MS = 100;

export class ReconcileLoop {
  readonly #deps: LoopDeps;
  readonly #wakeup: Wakeup;
  readonly #keeper: ShardKeeper;
  readonly #inFlight = new Map<string, number>();
  readonly #busy = new Map<number, number>();
  readonly #running = new Set<Promise<unknown>>();
  readonly #requested: ((report: PassReport) => void)[] = [];
  readonly #startedAt = new Date();
  #abort = new AbortController();
  #looping: Promise<void> | undefined;
  #passes = 0;
  #last: { ms: number; at: Date; pods: number; started: number } | null = null;

  constructor(deps: LoopDeps) {
    this.#deps = deps;
    this.#wakeup = new Wakeup(deps.debounceMs ?? 50);
    this.#keeper = new ShardKeeper({
      locks: deps.locks,
      nc: deps.nc,
      logger: deps.logger,
      instanceId: deps.instanceId,
      shardCount: deps.shardCount,
      busy: () => new Set(this.#busy.keys()),
      stats: () => this.#presenceStats(),
      onChange: () => this.poke(),
      ...deps.shardTiming,
    });
  }

  /** Passes completed since start (health and tests). */
  get passes(): number {
    return this.#passes;
  }

  get keeper(): ShardKeeper {
    return this.#keeper;
  }

  /** Asks for a pass soon: a read model changed, a node came back, an action ended, shards changed hands. */
  poke(): void {
    this.#wakeup.poke();
  }

  /** Runs a pass as soon as the one under way (if any) is over; resolves with what it did. */
  passNow(): Promise<PassReport> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted || !this.#looping) {
        resolve(this.#emptyReport('this replica is stopping'));
        return;
      }
      this.#requested.push(resolve);
      this.poke();
    });
  }

  start(): void {
    if (this.#looping) return;
    this.#abort = new AbortController();
    this.#keeper.start();
    this.#looping = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wakeup.close();
    await this.#looping;
    this.#looping = undefined;
    for (const resolve of this.#requested.splice(0)) resolve(this.#emptyReport('this replica is stopping'));
    // Actions in flight end on their own (each request has a timeout); shutdown waits a while, not forever. The
    // shards go back after them, so the next holder never overlaps one of ours.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_WAIT_MS);
    });
    await Promise.race([Promise.allSettled(this.#running), bound]);
    clearTimeout(timer);
    await this.#keeper.stop();
  }

  /** Every live replica as the announcements describe it, this one fresh. */
  stats(): ReconcilerStats {
    const now = this.#deps.clock();
    const self: ReplicaStats = {
      instanceId: this.#deps.instanceId,
      shards: this.#keeper.held(),
      busy: [...this.#busy.keys()].sort((a, b) => a - b),
      ...this.#presenceStats(),
      reportedAt: now.toISOString(),
    };
    const peers = this.#keeper.peers().map(
      ({ presence, at }): ReplicaStats => ({
        instanceId: presence.instanceId,
        shards: presence.held,
        busy: presence.busy,
        ...presence.stats,
        reportedAt: new Date(at).toISOString(),
      }),
    );
    const replicas = [self, ...peers];
    const held = new Set(replicas.flatMap((replica) => replica.shards));
    const unheld: number[] = [];
    for (let shard = 0; shard < this.#deps.shardCount; shard++) if (!held.has(shard)) unheld.push(shard);
    return { at: now.toISOString(), shardCount: this.#deps.shardCount, replicas, unheld };
  }

  #presenceStats(): Presence['stats'] {
    const last = this.#last;
    return {
      passes: this.#passes,
      lastPassMs: last?.ms ?? null,
      lastPassAt: last?.at.toISOString() ?? null,
      podsPlanned: last?.pods ?? 0,
      actionsStarted: last?.started ?? 0,
      actionsInFlight: this.#inFlight.size,
      startedAt: this.#startedAt.toISOString(),
    };
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const requested = this.#requested.splice(0);
      let report: PassReport;
      let wakeAt: Date | null = null;
      try {
        ({ report, wakeAt } = await this.#pass());
      } catch (error) {
        if (!signal.aborted) this.#deps.logger.error({ err: error }, 'reconcile pass failed');
        report = this.#emptyReport(`the pass failed: ${(error as Error).message}`);
      }
      for (const resolve of requested) resolve(report);
      await this.#wakeup.wait(this.#delayUntil(wakeAt), signal);
    }
  }

  #delayUntil(wakeAt: Date | null): number {
    return nextPassDelay(wakeAt, this.#deps.clock(), this.#deps.intervalMs);
  }

  #emptyReport(skipped: string | null, durationMs = 0): PassReport {
    const shards = [...this.#keeper.actable()].sort((a, b) => a - b);
    return { instanceId: this.#deps.instanceId, shards, durationMs, skipped, started: [], waits: [] };
  }

  async #pass(): Promise<{ report: PassReport; wakeAt: Date | null }> {
    const { db, liveness, clock, logger, policy, shardCount } = this.#deps;
    const began = performance.now();
    const elapsed = () => Math.round((performance.now() - began) * 100) / 100;
    const shards = new Set(this.#keeper.actable());
    if (shards.size === 0) return { report: this.#emptyReport(null), wakeAt: null };
    if (!(await this.#readModelsCaughtUp())) {
      return { report: this.#emptyReport('the read models lag behind their streams', elapsed()), wakeAt: null };
    }
    const world = worldOfShards(await loadWorld(db), shards, shardCount);
    const now = clock();
    const planned = planWorld(world, liveness.online(now), now, policy);
    const started = this.#startActions(planned.actions);
    const durationMs = elapsed();
    const pods = podsIn(world);
    this.#passes++;
    this.#last = { ms: durationMs, at: now, pods, started: started.length };
    if (started.length > 0) logger.debug({ started: started.length, inFlight: this.#inFlight.size }, 'reconciled');
    const report: PassReport = {
      instanceId: this.#deps.instanceId,
      shards: [...shards].sort((a, b) => a - b),
      durationMs,
      skipped: null,
      started,
      waits: planned.waits,
    };
    return { report, wakeAt: planned.wakeAt };
  }

  /**
   * Starts each action on a shard still ours and a pod with nothing in flight. The shards they touch are announced
   * busy before any of them is sent, so a replica that takes one of those shards over waits for them.
   */
  #startActions(actions: readonly PlannedAction[]): StartedAction[] {
    const { shardCount } = this.#deps;
    const limit = this.#deps.maxActionsInFlight ?? 32;
    // The shards may have moved while the world loaded: only those we may act on now.
    const actable = this.#keeper.actable();
    const chosen: { action: PlannedAction; key: string; shard: number }[] = [];
    let newlyBusy = false;
    for (const action of actions) {
      const key = actionKey(action);
      const shard = shardOf(key, shardCount);
      if (!actable.has(shard) || this.#inFlight.has(key)) continue;
      if (this.#inFlight.size >= limit) break; // the rest waits for the next pass (each ending action pokes)
      this.#inFlight.set(key, shard);
      const wasBusy = this.#busy.has(shard);
      this.#busy.set(shard, (this.#busy.get(shard) ?? 0) + 1);
      chosen.push({ action, key, shard });
      if (!wasBusy) newlyBusy = true;
    }
    if (newlyBusy) this.#keeper.announce();
    return chosen.map(({ action, key, shard }) => {
      const outcome = this.#execute(action).finally(() => {
        this.#inFlight.delete(key);
        const left = (this.#busy.get(shard) ?? 1) - 1;
        if (left > 0) this.#busy.set(shard, left);
        else {
          this.#busy.delete(shard);
          this.#keeper.announce();
        }
        this.#running.delete(outcome);
        this.poke();
      });
      this.#running.add(outcome);
      return { action, outcome };
    });
  }

  /**
   * Planning on read models that lag could undo what just happened (a pod created a moment ago looks like an
   * orphan's container to a stale desired table), so a pass first waits until each read model has applied
   * everything its stream held when the pass began; if that takes too long the pass is skipped.
   */
  async #readModelsCaughtUp(): Promise<boolean> {
    const { jsm, caughtUp, intervalMs, logger } = this.#deps;
    const timeoutMs = Math.max(intervalMs, 2_000);
    try {
      const heads = await Promise.all(
        READ_MODELS.map(async (context) => (await jsm.streams.info(streamName(context))).state.last_seq),
      );
      await Promise.all(READ_MODELS.map((context, i) => caughtUp(context, heads[i] ?? 0, timeoutMs)));
      return true;
    } catch (error) {
      logger.warn({ err: error }, 'read models lag behind their streams; skipping this reconcile pass');
      return false;
    }
  }

  async #execute(action: PlannedAction): Promise<ReconcileActionOutcome> {
    const { nc, recorder, caughtUp, clock, logger } = this.#deps;
    const meta: RequestMeta = { actor: systemActor('reconciler'), correlationId: newId() };
    const outcome = await carryOut(action, natsPorts(nc, action.nodeId, meta));
    const log = { action: action.kind, pod: actionKey(action), node: action.nodeId, correlationId: meta.correlationId };
    if (!outcome.ok && nodeUnreachable(outcome.error, action.nodeId)) {
      // The agent disconnected within its heartbeat window: not the pod's failure. The node counts as offline
      // until it is heard again, and the action is planned anew when it returns.
      this.#deps.liveness.lost(action.nodeId);
      logger.info(log, `${action.kind} postponed: node ${action.nodeId} is not connected`);
      return { result: 'postponed', reason: `node ${action.nodeId} is not connected` };
    }
    if (outcome.ok) logger.info(log, `${action.kind} done`);
    else logger.warn({ ...log, error: outcome.error }, `${action.kind} failed: ${outcome.error.message}`);
    const result: ReconcileActionOutcome = outcome.ok
      ? { result: 'succeeded', containerId: outcome.containerId }
      : { result: 'failed', error: outcome.error };
    let seq: number | null;
    try {
      seq = await recorder.record(action, outcome, meta, clock());
    } catch (error) {
      // The action stands; only its record is missing. The next pass plans from what the agent reports.
      logger.error({ err: error, ...log }, 'could not record the outcome of an action');
      return result;
    }
    if (seq === null) return result;
    await caughtUp('reconciler', seq).catch((error: unknown) =>
      logger.warn({ err: error, ...log }, 'the history lags behind the recorded outcome; releasing the pod anyway'),
    );
    return result;
  }
}

/**
 * Until the next pass: the interval, or less when a wait the planner reported ends sooner (a 1 s backoff is
 * honoured in ~1 s, not at the next period); never less than MIN_WAIT_MS, so a wait that ends in the past cannot
 * turn the loop into a busy one.
 */
export function nextPassDelay(wakeAt: Date | null, now: Date, intervalMs: number): number {
  if (!wakeAt) return intervalMs;
  return Math.min(intervalMs, Math.max(MIN_WAIT_MS, wakeAt.getTime() - now.getTime()));
}

/** No responder on the node's own subjects: its socket is not held by any gateway. */
function nodeUnreachable(error: ErrorBody, nodeId: string): boolean {
  const details = error.details as { noResponders?: boolean } | undefined;
  return error.code === 'unavailable' && details?.noResponders === true && error.message.includes(`agent.${nodeId}.`);
}
