import type { ServiceDefinition } from '@agentpod/kit';
import type { PodsDb } from './db.ts';
import { migrations } from './migrations.ts';
import { registerPodQueries } from './queries.ts';

/**
 * The pods service: nodes and pods: specs, placement, ports, volumes, secrets and routes.
 * It owns the PostgreSQL schema `pods` and appends to the `PODS` stream.
 */
export const podsService: ServiceDefinition<PodsDb> = {
  name: 'pods',
  streams: ['pods', 'agent'],
  database: { schema: 'pods', migrations },
  projections: [],
  register: registerPodQueries,
};
