import { createMailer, type ServiceDefinition } from '@agentpod/kit';
import { registerApiTokenHandlers } from './api-token/handlers.ts';
import { apiTokensProjection } from './api-token/read-model/projection.ts';
import { registerAuthenticateHandler } from './authenticate/handlers.ts';
import type { IdentityDatabase } from './db.ts';
import { createRepositories, type IdentityDeps } from './deps.ts';
import { IdentityEnv } from './env.ts';
import { registerMagicLinkHandlers } from './magic-link/handlers.ts';
import { magicLinksProjection } from './magic-link/read-model/projection.ts';
import { membershipProjection } from './membership/projection.ts';
import { migrations } from './migrations.ts';
import { registerPlatformHandlers } from './platform/handlers.ts';
import { registerSessionHandlers } from './session/handlers.ts';
import { sessionsProjection } from './session/read-model/projection.ts';
import { registerUserHandlers } from './user/handlers.ts';
import { usersProjection } from './user/read-model/projection.ts';

export { IdentityEnv } from './env.ts';

/**
 * The identity service: users, magic-link sign-in, sessions and API tokens. It owns the PostgreSQL schema
 * `identity`, appends to the `IDENTITY` stream, and reads `TENANTS` for its own copy of tenant memberships.
 */
export const identityService: ServiceDefinition<IdentityDatabase, typeof IdentityEnv> = {
  name: 'identity',
  streams: ['identity', 'tenants'],
  database: { schema: 'identity', migrations },
  projections: [usersProjection, magicLinksProjection, sessionsProjection, apiTokensProjection, membershipProjection],
  env: IdentityEnv,
  register(runtime) {
    const mailer = createMailer(runtime.config, runtime.logger);
    runtime.onStop(() => mailer.close());
    const deps: IdentityDeps = { runtime, repos: createRepositories(runtime.store), mailer };
    registerAuthenticateHandler(deps);
    registerMagicLinkHandlers(deps);
    registerSessionHandlers(deps);
    registerUserHandlers(deps);
    registerPlatformHandlers(deps);
    registerApiTokenHandlers(deps);
    runtime.logger.info(
      { mail: mailer.mode },
      `sign-in links: ${mailer.mode === 'smtp' ? 'sent by email' : 'local mode'}`,
    );
  },
};
