import { type EnvelopeOf, identityEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * The claim of one email address, keyed by `email-<sha256(email)>`. The first EmailClaimed on a new subject
 * wins the optimistic-concurrency race, so two registrations of one address end up with one user.
 */
export const emailEvents = { EmailClaimed: identityEvents.EmailClaimed };
export type EmailEvents = typeof emailEvents;
export type EmailEvent = EnvelopeOf<EmailEvents>;

export type EmailState = { claimed: false } | { claimed: true; userId: string; email: string };

export const initialEmailState: EmailState = { claimed: false };

export function evolveEmail(state: EmailState, event: EmailEvent): EmailState {
  switch (event.type) {
    case 'EmailClaimed':
      // A claim is final; a second one can only come from a bug, and the first stays authoritative.
      return state.claimed ? state : { claimed: true, userId: event.data.userId, email: event.data.email };
    default:
      return unreachable(event.type);
  }
}

export const emailAggregate: AggregateDefinition<EmailState, EmailEvents> = {
  context: 'identity',
  events: emailEvents,
  initialState: initialEmailState,
  evolve: evolveEmail,
};
