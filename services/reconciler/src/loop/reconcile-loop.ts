import { type Context, type ErrorBody, newId, type RequestMeta, streamName, systemActor } from '@agentpod/contracts';
import type { LeaderLocks, Logger } from '@agentpod/kit';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { carryOut, natsPorts } from '../apply/applier.ts';
import type { OutcomeRecorder } from '../apply/record.ts';
import type { ReconcilerDb } from '../db.ts';
import type { NodeLiveness } from '../observed/liveness.ts';
import { actionKey, type PlannedAction } from '../plan/model.ts';
import { plan } from '../plan/plan.ts';
import { loadWorld } from '../world.ts';
import { lead } from './leadership.ts';
import { Wakeup } from './wakeup.ts';

/*
 * The loop: while this instance holds the reconcile lock, every interval (and soon after a change) it waits for
 * its read models to catch up with the streams, plans, and sends each action whose pod has none in flight. It
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
  /** Resolves once this service's projections of `context` have applied `seq` (the kit runtime's caughtUp). */
  caughtUp: (context: Context, seq: number, timeoutMs?: number) => Promise<void>;
  maxActionsInFlight?: number;
  debounceMs?: number;
};

const LOCK_KEY = 'agentpod.reconciler.act';
const READ_MODELS: readonly Context[] = ['pods', 'agent', 'reconciler'];
const STOP_WAIT_MS = 10_000;

export class ReconcileLoop {
  readonly #deps: LoopDeps;
  readonly #wakeup: Wakeup;
  readonly #inFlight = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  #abort = new AbortController();
  #leading: Promise<void> | undefined;
  #passes = 0;

  constructor(deps: LoopDeps) {
    this.#deps = deps;
    this.#wakeup = new Wakeup(deps.debounceMs ?? 50);
  }

  /** Passes completed since start (health and tests). */
  get passes(): number {
    return this.#passes;
  }

  /** Asks for a pass soon: a read model changed, a node came back, an action ended. */
  poke(): void {
    this.#wakeup.poke();
  }

  start(): void {
    if (this.#leading) return;
    this.#abort = new AbortController();
    const { locks, logger } = this.#deps;
    this.#leading = lead({
      locks,
      key: LOCK_KEY,
      logger,
      signal: this.#abort.signal,
      whileLeading: (lost) => this.#act(lost),
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wakeup.close();
    await this.#leading;
    this.#leading = undefined;
    // Actions in flight end on their own (each request has a timeout); shutdown waits a while, not forever.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_WAIT_MS);
    });
    await Promise.race([Promise.allSettled(this.#running), bound]);
    clearTimeout(timer);
  }

  async #act(lost: AbortSignal): Promise<void> {
    while (!lost.aborted) {
      try {
        await this.#pass();
      } catch (error) {
        if (lost.aborted) return;
        this.#deps.logger.error({ err: error }, 'reconcile pass failed');
      }
      await this.#wakeup.wait(this.#deps.intervalMs, lost);
    }
  }

  async #pass(): Promise<void> {
    const { db, liveness, clock, intervalMs, logger } = this.#deps;
    if (!(await this.#readModelsCaughtUp())) return;
    const world = await loadWorld(db);
    const now = clock();
    const actions = plan(world.desired, world.observed, liveness.online(now), now, world.history, {
      retryDelayMs: intervalMs,
    });
    const limit = this.#deps.maxActionsInFlight ?? 32;
    for (const action of actions) {
      const key = actionKey(action);
      if (this.#inFlight.has(key)) continue;
      if (this.#inFlight.size >= limit) break; // the rest waits for the next pass (each ending action pokes)
      this.#inFlight.add(key);
      const running = this.#execute(action).finally(() => {
        this.#inFlight.delete(key);
        this.#running.delete(running);
        this.poke();
      });
      this.#running.add(running);
    }
    this.#passes++;
    if (actions.length > 0) logger.debug({ planned: actions.length, inFlight: this.#inFlight.size }, 'reconciled');
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

  async #execute(action: PlannedAction): Promise<void> {
    const { nc, recorder, caughtUp, clock, logger } = this.#deps;
    const meta: RequestMeta = { actor: systemActor('reconciler'), correlationId: newId() };
    const outcome = await carryOut(action, natsPorts(nc, action.nodeId, meta));
    const log = { action: action.kind, pod: actionKey(action), node: action.nodeId, correlationId: meta.correlationId };
    if (!outcome.ok && nodeUnreachable(outcome.error, action.nodeId)) {
      // The agent disconnected within its heartbeat window: not the pod's failure. The node counts as offline
      // until it is heard again, and the action is planned anew when it returns.
      this.#deps.liveness.lost(action.nodeId);
      logger.info(log, `${action.kind} postponed: node ${action.nodeId} is not connected`);
      return;
    }
    if (outcome.ok) logger.info(log, `${action.kind} done`);
    else logger.warn({ ...log, error: outcome.error }, `${action.kind} failed: ${outcome.error.message}`);
    let seq: number | null;
    try {
      seq = await recorder.record(action, outcome, meta, clock());
    } catch (error) {
      // The action stands; only its record is missing. The next pass plans from what the agent reports.
      logger.error({ err: error, ...log }, 'could not record the outcome of an action');
      return;
    }
    if (seq === null) return;
    await caughtUp('reconciler', seq).catch((error: unknown) =>
      logger.warn({ err: error, ...log }, 'the history lags behind the recorded outcome; releasing the pod anyway'),
    );
  }
}

/** No responder on the node's own subjects: its socket is not held by any gateway. */
function nodeUnreachable(error: ErrorBody, nodeId: string): boolean {
  const details = error.details as { noResponders?: boolean } | undefined;
  return error.code === 'unavailable' && details?.noResponders === true && error.message.includes(`agent.${nodeId}.`);
}
