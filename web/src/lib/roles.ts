import type { TenantRole } from '@agentpod/contracts';

/* Roles inside a tenant, weakest first (docs/roles.md); the console hides what a role may not do. */

export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const satisfies readonly TenantRole[];

export const atLeast = (role: TenantRole | undefined, required: TenantRole): boolean =>
  role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(required);
