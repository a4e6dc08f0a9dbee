import type { ServiceDefinition } from '@agentpod/kit';
import { migrations } from './migrations.ts';

/**
 * The identity service: users, magic-link sign-in, sessions, API tokens and node credentials.
 * It owns the PostgreSQL schema `identity` and appends to the `IDENTITY` stream.
 */
export const identityService: ServiceDefinition<unknown> = {
  name: 'identity',
  streams: ['identity'],
  database: { schema: 'identity', migrations },
  projections: [],
};
