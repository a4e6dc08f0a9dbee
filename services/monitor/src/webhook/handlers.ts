import { randomBytes } from 'node:crypto';
import {
  AppError,
  commandSubject,
  MonitorCommands,
  MonitorQueries,
  type MonitorResult,
  querySubject,
  type RequestMeta,
  WEBHOOK_SECRET_PREFIX,
  type WebhookEventType,
  WebhookView,
} from '@agentpod/contracts';
import { type CommandOutcome, decrypt, encrypt, executeCommand, handler } from '@agentpod/kit';
import type { z } from 'zod';
import { requireTenant } from '../access.ts';
import { listDeliveries } from '../delivery/queries.ts';
import { type MonitorDeps, secretContext, urlContext } from '../deps.ts';
import { newPingDeliveryId, newWebhookId } from '../ids.ts';
import { decideAdd, decideRemove, decideTest, type Webhook } from './aggregate.ts';
import { checkWebhookTarget } from './target.ts';

/** A tenant's webhooks are few; a cap keeps one alert from turning into a storm of deliveries. */
export const MAX_WEBHOOKS_PER_TENANT = 20;
const EVERY_EVENT: WebhookEventType[] = ['alert.fired', 'alert.resolved'];

/** Read-your-writes: the read model holds what the command stored before the reply. */
async function settle(deps: MonitorDeps, outcome: CommandOutcome<unknown>): Promise<void> {
  const seq = Math.max(0, ...outcome.events.map((event) => event.seq));
  if (seq > 0) await deps.runtime.caughtUp('monitor', seq);
}

function execute(
  deps: MonitorDeps,
  webhookId: string,
  meta: RequestMeta,
  decide: (state: Webhook) => ReturnType<typeof decideAdd>,
): Promise<CommandOutcome<Webhook>> {
  const { store, clock } = deps.runtime;
  return executeCommand({ store, repository: deps.repos.webhooks, aggregateId: webhookId, meta, decide, clock });
}

/** `monitor.cmd.{addWebhook,removeWebhook,testWebhook}` and `monitor.qry.{listWebhooks,listDeliveries}`. */
export function registerWebhookHandlers(deps: MonitorDeps): void {
  const { runtime, keyring } = deps;
  const command = <I, O>(
    name: keyof typeof MonitorCommands,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(commandSubject('monitor', name), handler(input, handle));
  const query = <I, O>(
    name: keyof typeof MonitorQueries,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(querySubject('monitor', name), handler(input, handle));

  command('addWebhook', MonitorCommands.addWebhook, async (input, meta): Promise<MonitorResult<'addWebhook'>> => {
    const { tenantId, url } = input;
    await requireTenant(runtime, meta, tenantId, 'admin', 'adding a webhook');
    await checkWebhookTarget(url, { allowPrivate: runtime.config.AGENTPOD_WEBHOOK_ALLOW_PRIVATE });
    const existing = await runtime.db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    if (Number(existing.count) >= MAX_WEBHOOKS_PER_TENANT) {
      throw new AppError(
        'conflict',
        `tenant ${tenantId} has ${MAX_WEBHOOKS_PER_TENANT} webhooks, the most it may have`,
      );
    }
    const webhookId = newWebhookId();
    const secret = `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const events = [...new Set(input.events ?? EVERY_EVENT)];
    const outcome = await execute(deps, webhookId, meta, (state) =>
      decideAdd(state, {
        webhookId,
        tenantId,
        url: encrypt(keyring, url, urlContext(webhookId)),
        urlOrigin: new URL(url).origin,
        events,
        secret: encrypt(keyring, secret, secretContext(webhookId)),
      }),
    );
    await settle(deps, outcome);
    const createdAt = outcome.events[0]?.envelope.occurredAt ?? runtime.clock().toISOString();
    return { webhook: { webhookId, tenantId, url, events, createdAt }, secret };
  });

  command('removeWebhook', MonitorCommands.removeWebhook, async ({ tenantId, webhookId }, meta) => {
    await requireTenant(runtime, meta, tenantId, 'admin', 'removing a webhook');
    await settle(deps, await execute(deps, webhookId, meta, (state) => decideRemove(state, tenantId, webhookId)));
    return { removed: true } as const;
  });

  command('testWebhook', MonitorCommands.testWebhook, async ({ tenantId, webhookId }, meta) => {
    await requireTenant(runtime, meta, tenantId, 'admin', 'testing a webhook');
    const deliveryId = newPingDeliveryId();
    await settle(
      deps,
      await execute(deps, webhookId, meta, (state) => decideTest(state, tenantId, webhookId, deliveryId)),
    );
    const [delivery] = await listDeliveries(runtime.db, { webhookId, deliveryId, limit: 1 });
    if (!delivery) throw new AppError('not_found', `tenant ${tenantId} has no webhook ${webhookId}`);
    return delivery;
  });

  query(
    'listWebhooks',
    MonitorQueries.listWebhooks,
    async ({ tenantId }, meta): Promise<MonitorResult<'listWebhooks'>> => {
      await requireTenant(runtime, meta, tenantId, 'admin', 'listing webhooks');
      const rows = await runtime.db
        .selectFrom('webhooks')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at')
        .orderBy('webhook_id')
        .execute();
      return {
        webhooks: rows.map((row) =>
          WebhookView.parse({
            webhookId: row.webhook_id,
            tenantId: row.tenant_id,
            url: decrypt(keyring, row.url, urlContext(row.webhook_id)),
            events: row.events,
            createdAt: row.created_at.toISOString(),
          }),
        ),
      };
    },
  );

  query('listDeliveries', MonitorQueries.listDeliveries, async ({ tenantId, webhookId, limit }, meta) => {
    await requireTenant(runtime, meta, tenantId, 'admin', 'reading deliveries');
    const webhook = await runtime.db
      .selectFrom('webhooks')
      .select('webhook_id')
      .where('webhook_id', '=', webhookId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!webhook) throw new AppError('not_found', `tenant ${tenantId} has no webhook ${webhookId}`);
    return { deliveries: await listDeliveries(runtime.db, { webhookId, limit }) };
  });
}
