import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The monitor service: metrics, health status, alert rules and notifications.
 * It owns the PostgreSQL schema `monitor` and appends to the `MONITOR` stream.
 */
export const monitorService: ServiceDefinition<unknown> = {
  name: 'monitor',
  streams: ['monitor'],
  database: { schema: 'monitor', migrations },
  projections: [],
};
