import { tenantMembershipProjection } from '@agentpod/kit';
import type { IdentityDatabase } from '../db.ts';

/** Identity's copy of tenant memberships, so it refuses a token with more rights than its creator. */
export const membershipProjection = tenantMembershipProjection<IdentityDatabase>();
