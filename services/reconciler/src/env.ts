import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';

const ms = (max: number) => z.coerce.number().int().min(1).max(max);

/** The reconciler's environment: the common variables plus its period, its crash backoff and its sharding. */
export const ReconcilerEnv = BaseEnv.extend({
  /** Milliseconds between two full reconcile passes; changes trigger a pass sooner. */
  AGENTPOD_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  /** First wait before a second recovery in a row; each further one doubles it. */
  AGENTPOD_RECONCILE_BACKOFF_BASE_MS: ms(3_600_000).default(1_000),
  /** The longest wait between two recoveries. */
  AGENTPOD_RECONCILE_BACKOFF_CAP_MS: ms(86_400_000).default(300_000),
  /** A pod that ran healthy this long starts counting its failures from zero again. */
  AGENTPOD_RECONCILE_RESET_AFTER_MS: ms(86_400_000).default(600_000),
  /** Failed recoveries (or actions) in a row after which a pod is `failing` and an alert is raised. */
  AGENTPOD_RECONCILE_FAILING_AFTER: z.coerce.number().int().min(1).max(100).default(3),
  /** Shards the pods are split into across reconciler replicas (each shard is one advisory lock). */
  AGENTPOD_RECONCILE_SHARDS: z.coerce.number().int().min(1).max(1_024).default(16),
});
export type ReconcilerEnv = z.infer<typeof ReconcilerEnv>;
