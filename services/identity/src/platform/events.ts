import { type EnvelopeOf, identityEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/** The singleton `platform`: whether (and to whom) the first platform admin was bootstrapped. */
export const platformEvents = { PlatformBootstrapped: identityEvents.PlatformBootstrapped };
export type PlatformEvents = typeof platformEvents;
export type PlatformEvent = EnvelopeOf<PlatformEvents>;

export type PlatformState = { bootstrappedBy: string | undefined };

export const initialPlatformState: PlatformState = { bootstrappedBy: undefined };

export function evolvePlatform(state: PlatformState, event: PlatformEvent): PlatformState {
  switch (event.type) {
    case 'PlatformBootstrapped':
      return { bootstrappedBy: state.bootstrappedBy ?? event.data.userId };
    default:
      return unreachable(event.type);
  }
}

export const platformAggregate: AggregateDefinition<PlatformState, PlatformEvents> = {
  context: 'identity',
  events: platformEvents,
  initialState: initialPlatformState,
  evolve: evolvePlatform,
};
