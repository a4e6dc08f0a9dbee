import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The reconciler service: desired vs observed state, commands to agents, restart backoff and failure alerts.
 * It owns the PostgreSQL schema `reconciler` and appends to the `RECONCILER` stream.
 */
export const reconcilerService: ServiceDefinition<unknown> = {
  name: 'reconciler',
  streams: ['reconciler'],
  database: { schema: 'reconciler', migrations },
  projections: [],
};
