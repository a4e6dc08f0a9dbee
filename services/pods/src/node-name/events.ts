import { type EnvelopeOf, nodeNameEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * The claim of one node name (`pods.evt.nodename_<name>`): the first claim on the subject wins the
 * optimistic-concurrency race, so two nodes added with one name at once end up with one node.
 */
export const nameEvents = nodeNameEvents;
export type NameEvents = typeof nameEvents;
export type NameEvent = EnvelopeOf<NameEvents>;

export type NameState = { claimed: false } | { claimed: true; nodeId: string; claimedAt: string };

export const initialNameState: NameState = { claimed: false };

export function evolveName(state: NameState, event: NameEvent): NameState {
  switch (event.type) {
    case 'NodeNameClaimed':
      return { claimed: true, nodeId: event.data.nodeId, claimedAt: event.occurredAt };
    case 'NodeNameReleased':
      return state.claimed && state.nodeId === event.data.nodeId ? { claimed: false } : state;
    default:
      return unreachable(event);
  }
}

export const nameAggregate: AggregateDefinition<NameState, NameEvents> = {
  context: 'pods',
  events: nameEvents,
  initialState: initialNameState,
  evolve: evolveName,
};
