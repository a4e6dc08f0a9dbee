import { z } from 'zod';

/** Who caused a change. `system` is a service acting on its own (the reconciler restarting a pod). */
export const Actor = z.object({
  kind: z.enum(['user', 'token', 'node', 'system']),
  /** User id, token id, node id, or the service name for `system`. */
  id: z.string().min(1).max(128),
  /** For a `token`: the user who holds it, so everything a person did (also through the CLI) can be found by them. */
  onBehalfOf: z.string().min(1).max(128).optional(),
});
export type Actor = z.infer<typeof Actor>;

export const systemActor = (service: string): Actor => ({ kind: 'system', id: service });
