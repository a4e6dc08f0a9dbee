import { AUDITED_CONTEXTS } from '@agentpod/contracts';
import { AggregateRepository, createMailer, type ServiceDefinition } from '@agentpod/kit';
import { auditProjections } from './audit/projection.ts';
import { registerAuditQuery } from './audit/query.ts';
import type { TenantsDb } from './db.ts';
import { TenantsEnv } from './env.ts';
import { migrations } from './migrations.ts';
import { tenantAggregate } from './tenant/events.ts';
import { registerTenantCommands } from './tenant/handlers.ts';
import { tenantsProjection } from './tenant/read-model/projection.ts';
import { registerTenantQueries } from './tenant/read-model/queries.ts';

/**
 * The tenants service: tenants, members and roles, invitations, and the audit log of every domain stream.
 * It owns the PostgreSQL schema `tenants` and appends to the `TENANTS` stream; it reads every audited stream.
 */
export const tenantsService: ServiceDefinition<TenantsDb, typeof TenantsEnv> = {
  name: 'tenants',
  streams: AUDITED_CONTEXTS,
  database: { schema: 'tenants', migrations },
  projections: [tenantsProjection, ...auditProjections],
  env: TenantsEnv,
  register(runtime) {
    const repository = new AggregateRepository(runtime.store, tenantAggregate);
    const mailer = createMailer(runtime.config, runtime.logger);
    runtime.onStop(() => mailer.close());
    registerTenantCommands(runtime, repository, mailer);
    registerTenantQueries(runtime, repository);
    registerAuditQuery(runtime);
  },
};
