import { tenantMembershipProjection } from '@agentpod/kit';
import type { PodsDb } from '../db.ts';

/** This service's copy of tenant memberships, so a query is authorised without a round trip to tenants. */
export const membershipProjection = tenantMembershipProjection<PodsDb>();
