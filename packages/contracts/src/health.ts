import { z } from 'zod';

export const DependencyHealth = z.object({
  ok: z.boolean(),
  /** Round-trip time of the check in milliseconds. */
  latencyMs: z.number().nonnegative().optional(),
  error: z.string().optional(),
});

/** Answer of every `<service>.qry.health` query. */
export const HealthReport = z.object({
  service: z.string(),
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  instanceId: z.string(),
  uptimeSeconds: z.number().nonnegative(),
  dependencies: z.record(z.string(), DependencyHealth),
  /** Read models this instance feeds: whether it leads each projection and how far it has applied the log. */
  projections: z
    .array(
      z.object({
        projection: z.string(),
        leader: z.boolean(),
        checkpoint: z.number().int().nonnegative(),
        applied: z.number().int().nonnegative(),
      }),
    )
    .optional(),
});
export type HealthReport = z.infer<typeof HealthReport>;
