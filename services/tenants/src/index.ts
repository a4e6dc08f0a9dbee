import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The tenants service: tenants, members and roles, invitations and quotas.
 * It owns the PostgreSQL schema `tenants` and appends to the `TENANTS` stream.
 */
export const tenantsService: ServiceDefinition<unknown> = {
  name: 'tenants',
  streams: ['tenants'],
  database: { schema: 'tenants', migrations },
  projections: [],
};
