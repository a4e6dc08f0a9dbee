import { addReactor, loadKeyring, type ServiceDefinition, tenantMembershipProjection } from '@agentpod/kit';
import { alerterProjection } from './alert/alerter.ts';
import { registerAlertQueries } from './alert/queries.ts';
import type { MonitorDb } from './db.ts';
import { WebhookSender } from './delivery/sender.ts';
import { createRepositories, type MonitorDeps } from './deps.ts';
import { MonitorEnv } from './env.ts';
import { METRICS_TABLES, startMetrics } from './metrics/index.ts';
import { migrations } from './migrations.ts';
import { usersProjection } from './notify/users-projection.ts';
import { DELIVERIES_CHANNEL, monitorProjection } from './read-model/projection.ts';
import { recoveriesProjection } from './rules/recoveries-projection.ts';
import { startAlertRules } from './rules/start.ts';
import { registerWebhookHandlers } from './webhook/handlers.ts';
import { tenantCleanupProjection } from './webhook/tenant-cleanup.ts';

export type { MonitorDb } from './db.ts';
export { signature, verifySignature } from './delivery/signing.ts';
export { MonitorEnv } from './env.ts';

/**
 * The monitor service: alerts (from the reconciler's PodFailing / PodRecovered) and the tenants' webhooks that
 * hear of them, signed and retried. It owns the PostgreSQL schema `monitor`, appends to `MONITOR`, and reads
 * `RECONCILER` (alert causes) and `TENANTS` (its own copy of memberships). See README.md.
 */
export const monitorService: ServiceDefinition<MonitorDb, typeof MonitorEnv> = {
  name: 'monitor',
  streams: ['monitor', 'reconciler', 'tenants', 'identity'],
  // The metrics tables hold measurements, not projections of the log: a replay keeps their rows.
  database: { schema: 'monitor', migrations, keep: METRICS_TABLES },
  projections: [monitorProjection, tenantMembershipProjection<MonitorDb>(), usersProjection, recoveriesProjection],
  env: MonitorEnv,
  async register(runtime) {
    const { config, logger, store } = runtime;
    const keyring = await loadKeyring({
      ...(config.AGENTPOD_SECRETS_KEY ? { key: config.AGENTPOD_SECRETS_KEY } : {}),
      stateDir: config.AGENTPOD_STATE_DIR,
      logger,
    });
    const repos = createRepositories(store);
    const deps: MonitorDeps = {
      runtime,
      repos,
      keyring,
      retry: {
        baseMs: config.AGENTPOD_WEBHOOK_BACKOFF_BASE_MS,
        capMs: config.AGENTPOD_WEBHOOK_BACKOFF_CAP_MS,
        maxAttempts: config.AGENTPOD_WEBHOOK_MAX_ATTEMPTS,
      },
    };
    // The alerter and the tenant clean-up append to the log rather than write a read model: reactors.
    addReactor(
      runtime,
      alerterProjection({
        store,
        series: repos.series,
        clock: runtime.clock,
        db: runtime.db,
        hourlyCap: config.AGENTPOD_ALERT_TENANT_HOURLY_CAP,
      }),
    );
    addReactor(runtime, tenantCleanupProjection(deps));
    registerAlertQueries(deps);
    registerWebhookHandlers(deps);
    await startAlertRules(deps);
    startMetrics(runtime);

    const sender = new WebhookSender({
      db: runtime.db,
      store,
      repos,
      locks: runtime.locks,
      keyring,
      retry: deps.retry,
      allowPrivate: config.AGENTPOD_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: config.AGENTPOD_WEBHOOK_TIMEOUT_MS,
      pollMs: config.AGENTPOD_WEBHOOK_POLL_MS,
      clock: runtime.clock,
      logger,
      caughtUp: (seq) => runtime.caughtUp('monitor', seq),
    });
    const due = await runtime.sql.listen(DELIVERIES_CHANNEL, () => sender.poke());
    runtime.onStop(async () => {
      await sender.stop();
      await due.unlisten().catch(() => {});
    });
    sender.start();
  },
};
