import { BaseEnv, MailEnv } from '@agentpod/kit';
import type { z } from 'zod';

/** The tenants service's environment: the common variables plus mail (invitations are emailed). */
export const TenantsEnv = BaseEnv.extend(MailEnv.shape);
export type TenantsEnv = z.infer<typeof TenantsEnv>;
