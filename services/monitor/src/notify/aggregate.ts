import { emailEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/*
 * An email delivery's attempts (`monitor.evt.eml_…`). Like a webhook delivery, the sender decides the next attempt
 * from this, the log, not from the read model: a lagging or rebuilt read model cannot make it send twice.
 */

export type EmailDelivery = { attempts: number; done: boolean };

export const emailAggregate: AggregateDefinition<EmailDelivery, typeof emailEvents> = {
  context: 'monitor',
  events: emailEvents,
  initialState: { attempts: 0, done: false },
  evolve(_state, event) {
    switch (event.type) {
      case 'EmailAttempted':
        return { attempts: event.data.attempt, done: event.data.outcome !== 'retrying' };
      default: {
        const unknown: never = event.type;
        throw new Error(`unhandled email event ${String(unknown)}`);
      }
    }
  },
};
