import type { Matrix } from './fixtures.ts';

/*
 * Webhooks of acme for the alert routes, added by the platform admin through the API: one shared (tested, its
 * deliveries read) and fresh ones to remove. The URL is a documentation address (TEST-NET-3): public, so the monitor
 * accepts it without allowing private targets, and nothing there answers a test ping.
 */

export const MATRIX_WEBHOOK_URL = 'https://203.0.113.10/agentpod-matrix';

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
