import { type EnvelopeOf, identityEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/** A sign-in link, keyed by `link-<sha256(link token)>`: the token itself is only ever in the email. */
export const linkEvents = {
  MagicLinkIssued: identityEvents.MagicLinkIssued,
  MagicLinkRedeemed: identityEvents.MagicLinkRedeemed,
};
export type LinkEvents = typeof linkEvents;
export type LinkEvent = EnvelopeOf<LinkEvents>;

export type LinkState =
  | { status: 'none' }
  | { status: 'issued'; userId: string; email: string; expiresAt: string }
  | { status: 'redeemed'; userId: string; sessionId: string };

export const initialLinkState: LinkState = { status: 'none' };

export function evolveLink(_state: LinkState, event: LinkEvent): LinkState {
  switch (event.type) {
    case 'MagicLinkIssued':
      return { status: 'issued', userId: event.data.userId, email: event.data.email, expiresAt: event.data.expiresAt };
    case 'MagicLinkRedeemed':
      return { status: 'redeemed', userId: event.data.userId, sessionId: event.data.sessionId };
    default:
      return unreachable(event);
  }
}

export const linkAggregate: AggregateDefinition<LinkState, LinkEvents> = {
  context: 'identity',
  events: linkEvents,
  initialState: initialLinkState,
  evolve: evolveLink,
};
