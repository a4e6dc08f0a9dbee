import { type DeliveryAttemptView, type DeliveryView, WebhookEventType, type WebhookView } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { clean, EXIT, formatFields, formatTable, formatTime } from '../output.ts';

/* `agentpod webhook add|list|rm|test|deliveries`: a tenant's alert webhooks (tenant admins). */

const TENANT = { type: 'string', value: 'T', description: 'the tenant', required: true } as const;
const LABELS = { tenant: '--tenant', webhook: '<id>', url: '<url>', events: '--events', limit: '--limit' };

/** How long `webhook test` waits for the ping's first attempt before reporting it pending. */
const TEST_WAIT_MS = 15_000;
const TEST_POLL_MS = 250;

/** One attempt for people: `200 (35 ms)`, `connection refused (ECONNREFUSED) (2 ms)`. */
export const attemptResult = (attempt: DeliveryAttemptView): string =>
  `${attempt.statusCode ?? attempt.error ?? 'no answer'} (${attempt.durationMs} ms)`;

export function formatWebhooks(webhooks: readonly WebhookView[]): string {
  if (webhooks.length === 0) return 'no webhooks\n';
  return formatTable(
    ['id', 'url', 'events', 'created'],
    webhooks.map((w) => [w.webhookId, w.url, w.events.join(','), formatTime(w.createdAt)]),
  );
}

/** One row per attempt (a delivery not yet attempted gets one row), newest delivery first. */
export function formatDeliveries(deliveries: readonly DeliveryView[]): string {
  if (deliveries.length === 0) return 'no deliveries\n';
  const rows = deliveries.flatMap((d) => {
    const head = [d.deliveryId, d.type, d.status];
    if (d.log.length === 0) return [[...head, '-', formatTime(d.createdAt), 'not attempted yet']];
    return d.log.map((a) => [...head, String(a.attempt), formatTime(a.at), `${attemptResult(a)} ${a.outcome}`]);
  });
  return formatTable(['delivery', 'type', 'status', 'attempt', 'at', 'result'], rows);
}

export const webhookAddCommand = defineCommand({
  path: ['webhook', 'add'],
  summary: "Add a webhook the tenant's alerts are posted to; its signing secret is printed once",
  args: ['url'],
  options: {
    tenant: TENANT,
    events: {
      type: 'string',
      value: 'E,…',
      description: 'only these events: alert.fired, alert.resolved (default: both)',
    },
  },
  details:
    'Each delivery is a POST of JSON signed with the secret: X-AgentPod-Signature is\n' +
    'sha256=<hex HMAC-SHA256(secret, X-AgentPod-Timestamp + "." + body)>. Failed deliveries are retried with\n' +
    'backoff. Private, loopback and link-local addresses are refused unless the operator allows them.',
  async run(ctx, { args, options }) {
    const events = options.events?.split(',').map((text) => {
      const event = WebhookEventType.safeParse(text.trim());
      if (!event.success) {
        throw usageError(`invalid --events: "${text.trim()}" is not one of ${WebhookEventType.options.join(', ')}`);
      }
      return event.data;
    });
    const { webhook, secret } = await (await ctx.client()).call(
      'addWebhook',
      { params: { tenant: options.tenant }, body: { url: args.url, ...(events ? { events } : {}) } },
      { labels: LABELS },
    );
    ctx.out.result({ webhook, secret }, () => {
      const fields = formatFields([
        ['id', webhook.webhookId],
        ['url', webhook.url],
        ['events', webhook.events.join(', ')],
        ['secret', secret],
      ]);
      return `${fields}\nThe secret is shown only now: give it to the receiver to verify signatures.\n`;
    });
    return EXIT.ok;
  },
});

export const webhookListCommand = defineCommand({
  path: ['webhook', 'list'],
  summary: "A tenant's webhooks",
  options: { tenant: TENANT },
  async run(ctx, { options }) {
    const { webhooks } = await (await ctx.client()).call(
      'listWebhooks',
      { params: { tenant: options.tenant } },
      { labels: LABELS },
    );
    ctx.out.result({ webhooks }, () => formatWebhooks(webhooks));
    return EXIT.ok;
  },
});

export const webhookRemoveCommand = defineCommand({
  path: ['webhook', 'rm'],
  summary: 'Remove a webhook (its pending deliveries and its log go with it)',
  args: ['id'],
  options: { tenant: TENANT },
  async run(ctx, { args, options }) {
    await (await ctx.client()).call(
      'removeWebhook',
      { params: { tenant: options.tenant, webhook: args.id } },
      { labels: LABELS },
    );
    ctx.out.result({ webhookId: args.id, removed: true }, () => `removed webhook ${clean(args.id)}\n`);
    return EXIT.ok;
  },
});

export const webhookTestCommand = defineCommand({
  path: ['webhook', 'test'],
  summary: 'Send a webhook a signed ping and report how its first attempt went',
  args: ['id'],
  options: { tenant: TENANT },
  details: 'Exits 0 when the receiver answered 2xx, 1 when it did not (the ping is retried like any delivery).',
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    const params = { tenant: options.tenant, webhook: args.id };
    let delivery = await client.call('testWebhook', { params }, { labels: LABELS });
    const deadline = Date.now() + TEST_WAIT_MS;
    while (delivery.log.length === 0 && Date.now() < deadline && !ctx.io.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, TEST_POLL_MS));
      const { deliveries } = await client.call(
        'listWebhookDeliveries',
        { params, query: { limit: 20 } },
        { labels: LABELS },
      );
      delivery = deliveries.find((d) => d.deliveryId === delivery.deliveryId) ?? delivery;
    }
    const [first] = delivery.log;
    ctx.out.result(delivery, () => {
      if (!first) return `ping ${delivery.deliveryId} is queued; see agentpod webhook deliveries ${clean(args.id)}\n`;
      const verdict = first.outcome === 'delivered' ? 'delivered' : 'not delivered';
      const retry = delivery.nextAttemptAt ? `; next attempt ${formatTime(delivery.nextAttemptAt)}` : '';
      return `ping ${delivery.deliveryId} ${verdict}: ${clean(attemptResult(first))}${retry}\n`;
    });
    return first?.outcome === 'delivered' ? EXIT.ok : EXIT.failure;
  },
});

export const webhookDeliveriesCommand = defineCommand({
  path: ['webhook', 'deliveries'],
  summary: "A webhook's deliveries, newest first, with every attempt (status code or error, duration)",
  args: ['id'],
  options: {
    tenant: TENANT,
    limit: { type: 'string', value: 'N', description: 'at most N deliveries (1-1000, default 50)' },
  },
  async run(ctx, { args, options }) {
    const { deliveries } = await (await ctx.client()).call(
      'listWebhookDeliveries',
      { params: { tenant: options.tenant, webhook: args.id }, query: { limit: options.limit } },
      { labels: LABELS },
    );
    ctx.out.result({ deliveries }, () => formatDeliveries(deliveries));
    return EXIT.ok;
  },
});

export const webhookCommands = [
  webhookAddCommand,
  webhookListCommand,
  webhookRemoveCommand,
  webhookTestCommand,
  webhookDeliveriesCommand,
];
