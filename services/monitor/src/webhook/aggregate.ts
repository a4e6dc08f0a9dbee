import { AppError, type EventOf, webhookEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import type { z } from 'zod';

/* A webhook (`monitor.evt.whk_…`): added, tested any number of times, removed. Pure. */

export type Webhook = { status: 'none' } | { status: 'live' | 'removed'; webhookId: string; tenantId: string };

export const webhookAggregate: AggregateDefinition<Webhook, typeof webhookEvents> = {
  context: 'monitor',
  events: webhookEvents,
  initialState: { status: 'none' },
  evolve(state, event) {
    switch (event.type) {
      case 'WebhookAdded':
        return { status: 'live', webhookId: event.data.webhookId, tenantId: event.data.tenantId };
      case 'WebhookRemoved':
        return state.status === 'none' ? state : { ...state, status: 'removed' };
      case 'WebhookTestRequested':
        return state;
      default: {
        const unknown: never = event;
        throw new Error(`unhandled webhook event ${(unknown as { type: string }).type}`);
      }
    }
  },
};

type WebhookEvent = EventOf<typeof webhookEvents>;
type Added = z.infer<typeof webhookEvents.WebhookAdded>;

export function decideAdd(state: Webhook, added: Added): WebhookEvent[] | AppError {
  if (state.status !== 'none') return new AppError('conflict', `webhook ${added.webhookId} exists already`);
  return [{ type: 'WebhookAdded', tenantId: added.tenantId, data: added }];
}

/** A webhook of another tenant is as absent as one that never existed. */
function live(state: Webhook, tenantId: string, webhookId: string): AppError | undefined {
  if (state.status !== 'live' || state.tenantId !== tenantId) {
    return new AppError('not_found', `tenant ${tenantId} has no webhook ${webhookId}`);
  }
  return undefined;
}

export function decideRemove(state: Webhook, tenantId: string, webhookId: string): WebhookEvent[] | AppError {
  return live(state, tenantId, webhookId) ?? [{ type: 'WebhookRemoved', tenantId, data: { webhookId, tenantId } }];
}

export function decideTest(
  state: Webhook,
  tenantId: string,
  webhookId: string,
  deliveryId: string,
): WebhookEvent[] | AppError {
  return (
    live(state, tenantId, webhookId) ?? [
      { type: 'WebhookTestRequested', tenantId, data: { webhookId, tenantId, deliveryId } },
    ]
  );
}
