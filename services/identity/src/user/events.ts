import { type EnvelopeOf, identityEvents, type UserView } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/** The user aggregate, keyed by user id (`usr_…`). */
export const userEvents = {
  UserRegistered: identityEvents.UserRegistered,
  PlatformAdminGranted: identityEvents.PlatformAdminGranted,
  UserDisabled: identityEvents.UserDisabled,
  UserEnabled: identityEvents.UserEnabled,
  UserSessionsRevoked: identityEvents.UserSessionsRevoked,
};
export type UserEvents = typeof userEvents;
export type UserEvent = EnvelopeOf<UserEvents>;

export type User = {
  userId: string;
  email: string;
  platformAdmin: boolean;
  disabled: boolean;
  /** A session is valid only while this equals the epoch it started with (sign out everywhere moves it on). */
  sessionEpoch: number;
  /** An API token is valid only while this equals the epoch it was created with (disabling moves it on). */
  tokenEpoch: number;
  createdAt: string;
};

export type UserState = { registered: false } | ({ registered: true } & User);

export const initialUserState: UserState = { registered: false };

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered':
      return {
        registered: true,
        userId: event.data.userId,
        email: event.data.email,
        platformAdmin: event.data.platformAdmin,
        disabled: false,
        sessionEpoch: 0,
        tokenEpoch: 0,
        createdAt: event.occurredAt,
      };
    case 'PlatformAdminGranted':
      return state.registered ? { ...state, platformAdmin: true } : state;
    case 'UserDisabled':
      // Disabling voids every session and token for good: enabling the user again does not bring them back.
      return state.registered
        ? { ...state, disabled: true, sessionEpoch: state.sessionEpoch + 1, tokenEpoch: state.tokenEpoch + 1 }
        : state;
    case 'UserEnabled':
      return state.registered ? { ...state, disabled: false } : state;
    case 'UserSessionsRevoked':
      return state.registered ? { ...state, sessionEpoch: state.sessionEpoch + 1 } : state;
    default:
      return unreachable(event);
  }
}

export const userAggregate: AggregateDefinition<UserState, UserEvents> = {
  context: 'identity',
  events: userEvents,
  initialState: initialUserState,
  evolve: evolveUser,
};

export const toUserView = (user: User): UserView => ({
  id: user.userId,
  email: user.email,
  platformAdmin: user.platformAdmin,
  disabled: user.disabled,
  createdAt: user.createdAt,
});
