import type { ServiceDefinition } from '@agentpod/kit';
import { OutcomeRecorder } from './apply/record.ts';
import { CHANGES_CHANNEL } from './changes.ts';
import type { ReconcilerDb } from './db.ts';
import { desiredProjection } from './desired/projection.ts';
import { ReconcilerEnv } from './env.ts';
import { historyProjection } from './history/projection.ts';
import { answerPassRequests } from './loop/pass-requests.ts';
import { policyOf } from './loop/plan-pass.ts';
import { ReconcileLoop } from './loop/reconcile-loop.ts';
import { migrations } from './migrations.ts';
import { NodeLiveness } from './observed/liveness.ts';
import { observedProjection } from './observed/projection.ts';
import { registerQueries } from './query.ts';

/**
 * The reconciler service: desired state (PODS) against observed state (AGENT, heartbeats), actions sent to agents,
 * outcomes recorded in RECONCILER. Replicas split the pods into shards (one advisory lock each). It owns the
 * PostgreSQL schema `reconciler`. See README.md.
 */
export const reconcilerService: ServiceDefinition<ReconcilerDb, typeof ReconcilerEnv> = {
  name: 'reconciler',
  streams: ['reconciler', 'pods', 'agent'],
  database: { schema: 'reconciler', migrations },
  projections: [desiredProjection, observedProjection, historyProjection],
  env: ReconcilerEnv,
  async register(runtime) {
    const { nc, sql, db, jsm, store, logger, clock } = runtime;
    const liveness = new NodeLiveness(clock, () => loop.poke());
    const loop = new ReconcileLoop({
      db,
      locks: runtime.locks,
      nc,
      jsm,
      recorder: new OutcomeRecorder(store, jsm),
      liveness,
      logger,
      clock,
      intervalMs: runtime.config.AGENTPOD_RECONCILE_INTERVAL_MS,
      policy: policyOf(runtime.config),
      instanceId: runtime.instanceId,
      shardCount: runtime.config.AGENTPOD_RECONCILE_SHARDS,
      caughtUp: runtime.caughtUp,
    });
    const heartbeats = liveness.listen(nc, logger);
    const changes = await sql.listen(CHANGES_CHANNEL, () => loop.poke());
    registerQueries(runtime, { liveness, loop });
    const passRequests = answerPassRequests(nc, () => loop.passNow(), logger);
    runtime.onStop(async () => {
      passRequests.unsubscribe();
      await loop.stop();
      heartbeats.unsubscribe();
      await changes.unlisten().catch(() => {});
    });
    loop.start();
  },
};
