import { deliveryEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/*
 * A delivery's attempts (`monitor.evt.dlv_…`). The sender decides the next attempt from this, the log, not from the
 * read model: a read model that lags (or was just rebuilt) can never make it send an attempt twice.
 */

export type Delivery = { attempts: number; done: boolean };

export const deliveryAggregate: AggregateDefinition<Delivery, typeof deliveryEvents> = {
  context: 'monitor',
  events: deliveryEvents,
  initialState: { attempts: 0, done: false },
  evolve(_state, event) {
    switch (event.type) {
      case 'DeliveryAttempted':
        return { attempts: event.data.attempt, done: event.data.outcome !== 'retrying' };
      default: {
        const unknown: never = event.type;
        throw new Error(`unhandled delivery event ${String(unknown)}`);
      }
    }
  },
};
