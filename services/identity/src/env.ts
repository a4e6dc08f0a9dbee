import { BaseEnv, MailEnv } from '@agentpod/kit';
import type { z } from 'zod';

/** The identity service's environment: the common variables plus mail (SMTP server, sender, public URL). */
export const IdentityEnv = BaseEnv.extend(MailEnv.shape);
export type IdentityEnv = z.infer<typeof IdentityEnv>;
