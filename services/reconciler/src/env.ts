import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';

/** The reconciler's environment: the common variables plus its period. */
export const ReconcilerEnv = BaseEnv.extend({
  /** Milliseconds between two full reconcile passes; changes trigger a pass sooner. Also the retry delay. */
  AGENTPOD_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
});
export type ReconcilerEnv = z.infer<typeof ReconcilerEnv>;
