import { createMailer, type ServiceDefinition } from '@agentpod/kit';
import { registerApiTokenHandlers } from './api-token/handlers.ts';
import { apiTokensProjection } from './api-token/read-model/projection.ts';
import { registerAuthenticateHandler } from './authenticate/handlers.ts';
import type { IdentityDatabase } from './db.ts';
import { createRepositories, type IdentityDeps } from './deps.ts';
import { IdentityEnv } from './env.ts';
import { registerMagicLinkHandlers } from './magic-link/handlers.ts';
import { magicLinksProjection } from './magic-link/read-model/projection.ts';
import { SignInRequestLog } from './magic-link/request-log.ts';
import { createMailQueue } from './mail-queue.ts';
import { membershipProjection } from './membership/projection.ts';
import { migrations } from './migrations.ts';
import { registerNodeCredentialHandlers } from './node-credential/handlers.ts';
import { migrateOps, opsDb } from './ops/schema.ts';
import { registerPlatformHandlers } from './platform/handlers.ts';
import { registerSessionHandlers } from './session/handlers.ts';
import { sessionsProjection } from './session/read-model/projection.ts';
import { LINK_RATE_LIMIT, SHUTDOWN_MAIL_WAIT_MS, SIGN_IN_MAIL_RETRY } from './settings.ts';
import { registerUserHandlers } from './user/handlers.ts';
import { usersProjection } from './user/read-model/projection.ts';

export { IdentityEnv } from './env.ts';

/**
 * The identity service: users, magic-link sign-in, sessions, API tokens and node credentials. It owns the
 * PostgreSQL schema `identity` (read models) and `identity_ops` (expiring operational counters, outside replay),
 * appends to the `IDENTITY` stream, and reads `TENANTS` for its own copy of tenant memberships.
 */
export const identityService: ServiceDefinition<IdentityDatabase, typeof IdentityEnv> = {
  name: 'identity',
  streams: ['identity', 'tenants'],
  database: { schema: 'identity', migrations },
  projections: [usersProjection, magicLinksProjection, sessionsProjection, apiTokensProjection, membershipProjection],
  env: IdentityEnv,
  async register(runtime) {
    await migrateOps(runtime);
    // The mailer logs a failed send with the error's message, which can carry the SMTP server's reply, and that
    // can echo the recipient's address: its `err` is redacted here; the mail queue logs the codes instead.
    const mailer = createMailer(runtime.config, runtime.logger.child({}, { redact: ['err'] }));
    runtime.onStop(() => mailer.close());
    const mail = createMailQueue({ mailer, logger: runtime.logger, ...SIGN_IN_MAIL_RETRY });
    // Stop hooks run in reverse order: emails under way finish before the mailer closes.
    runtime.onStop(() => mail.drain(SHUTDOWN_MAIL_WAIT_MS));
    const signInRequests = new SignInRequestLog({ db: opsDb(runtime), limit: LINK_RATE_LIMIT, logger: runtime.logger });
    const deps: IdentityDeps = { runtime, repos: createRepositories(runtime.store), mailer, mail, signInRequests };
    registerAuthenticateHandler(deps);
    registerMagicLinkHandlers(deps);
    registerSessionHandlers(deps);
    registerUserHandlers(deps);
    registerPlatformHandlers(deps);
    registerApiTokenHandlers(deps);
    registerNodeCredentialHandlers(deps);
    runtime.logger.info(
      { mail: mailer.mode },
      `sign-in links: ${mailer.mode === 'smtp' ? 'sent by email' : 'local mode'}`,
    );
  },
};
