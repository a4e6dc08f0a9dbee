import { setTimeout as sleep } from 'node:timers/promises';
import { type AlertView, podAggregateId } from '@agentpod/contracts';
import { EventStore } from '@agentpod/kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Matrix } from './fixtures.ts';

/*
 * The alert routes' world. Webhooks of acme added by the platform admin through the API: one shared (tested, its
 * deliveries read) and fresh ones to remove. The URL is a documentation address (TEST-NET-3): public, so the monitor
 * accepts it without allowing private targets, and nothing there answers a test ping.
 *
 * Alert rules are added through the API too (acme's and the platform's: a shared one to silence, fresh ones to
 * remove). A firing alert, to acknowledge, silence and read the emails of, is fired the way the reconciler fires
 * one: a PodFailing event of acme/alerting in RECONCILER, which the monitor's built-in rule turns into an alert.
 * Acknowledging twice and silencing again are allowed, so every caller acts on the same alert.
 */

export const MATRIX_WEBHOOK_URL = 'https://203.0.113.10/agentpod-matrix';
const ALERTING_POD = 'alerting';

export type WebhookWorld = {
  /** acme's webhook for the read and test routes; its id. */
  shared(): Promise<string>;
  /** A new webhook of acme (to remove); its id. */
  fresh(): Promise<string>;
};

export function webhookWorld(m: Matrix): WebhookWorld {
  const add = async () => {
    const added = await m.world.must<{ webhook: { webhookId: string } }>(201, {
      method: 'POST',
      url: '/api/v1/tenants/acme/webhooks',
      as: m.root,
      body: { url: MATRIX_WEBHOOK_URL },
    });
    return added.webhook.webhookId;
  };
  let shared: Promise<string> | undefined;
  return {
    shared: () => {
      shared ??= add();
      return shared;
    },
    fresh: add,
  };
}

export type AlertRuleWorld = {
  /** A rule of acme (to silence); its id. */
  sharedTenantRule(): Promise<string>;
  /** A new rule of acme (to remove); its id. */
  freshTenantRule(): Promise<string>;
  /** A platform rule (to silence); its id. */
  sharedPlatformRule(): Promise<string>;
  /** A new platform rule (to remove); its id. */
  freshPlatformRule(): Promise<string>;
  /** A firing alert of acme; its id. */
  firingAlert(): Promise<string>;
};

/** A tenant rule any tenant may add: acme's pods down for 10 minutes. */
export const TENANT_RULE = { kind: 'pod-down', for: '10m' } as const;
/** A platform rule: any node above 95% CPU for 10 minutes. */
export const PLATFORM_RULE = { kind: 'cpu', on: 'node', threshold: 95, for: '10m' } as const;

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

export function alertRuleWorld(m: Matrix): AlertRuleWorld {
  const add = async (url: string, body: object) =>
    (await m.world.must<{ ruleId: string }>(201, { method: 'POST', url, as: m.root, body })).ruleId;
  const tenantRule = () => add('/api/v1/tenants/acme/alert-rules', { ...TENANT_RULE, name: m.unique('matrix rule') });
  const platformRule = () => add('/api/v1/alert-rules', { ...PLATFORM_RULE, name: m.unique('matrix rule') });
  return {
    sharedTenantRule: once(tenantRule),
    freshTenantRule: tenantRule,
    sharedPlatformRule: once(platformRule),
    freshPlatformRule: platformRule,
    firingAlert: once(() => fireAlert(m)),
  };
}

/** Appends what the reconciler records when a pod keeps crashing, and waits for the monitor's alert. */
async function fireAlert(m: Matrix): Promise<string> {
  const store = new EventStore(jetstream(m.world.nc), await jetstreamManager(m.world.nc));
  const aggregateId = podAggregateId('acme', ALERTING_POD);
  await store.append(
    'reconciler',
    aggregateId,
    [
      {
        type: 'PodFailing',
        tenantId: 'acme',
        data: {
          tenantId: 'acme',
          podId: ALERTING_POD,
          nodeId: `nod_${'0'.repeat(24)}`,
          generation: 1,
          reason: 'crash-loop',
          failures: 3,
          exitCode: 1,
          lastError: null,
          summary: 'exited with code 1 3 times in a row; next try in 4 s',
        },
      },
    ],
    {
      expected: { version: 0, seq: await store.lastSequence('reconciler', aggregateId) },
      meta: { actor: { kind: 'system', id: 'reconciler' }, correlationId: 'role-matrix' },
      now: new Date(),
    },
  );
  for (let attempt = 0; ; attempt++) {
    const { alerts } = await m.world.must<{ alerts: AlertView[] }>(200, {
      method: 'GET',
      url: '/api/v1/alerts?tenant=acme&state=firing',
      as: m.root,
    });
    const fired = alerts.find((alert) => alert.target.podId === ALERTING_POD);
    if (fired) return fired.alertId;
    if (attempt >= 300) throw new Error('the monitor never fired the alert of acme/alerting');
    await sleep(100);
  }
}
