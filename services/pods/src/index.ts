import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The pods service: nodes and pods: specs, placement, ports, volumes, secrets and routes.
 * It owns the PostgreSQL schema `pods` and appends to the `PODS` stream.
 */
export const podsService: ServiceDefinition<unknown> = {
  name: 'pods',
  streams: ['pods', 'agent'],
  database: { schema: 'pods', migrations },
  projections: [],
};
