import { type EnvelopeOf, identityEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/** A session, keyed by `session-<sha256(session token)>`: the token is only ever in the browser's cookie. */
export const sessionEvents = {
  SessionStarted: identityEvents.SessionStarted,
  SessionRenewed: identityEvents.SessionRenewed,
  SessionEnded: identityEvents.SessionEnded,
};
export type SessionEvents = typeof sessionEvents;
export type SessionEvent = EnvelopeOf<SessionEvents>;

export type ActiveSession = {
  status: 'active';
  sessionId: string;
  userId: string;
  epoch: number;
  expiresAt: string;
  /** When the expiry last moved (start or renewal): renewal waits at least an hour after it. */
  renewedAt: string;
};

export type SessionState = { status: 'none' } | ActiveSession | { status: 'ended'; sessionId: string; userId: string };

export const initialSessionState: SessionState = { status: 'none' };

export function evolveSession(state: SessionState, event: SessionEvent): SessionState {
  switch (event.type) {
    case 'SessionStarted':
      return {
        status: 'active',
        sessionId: event.data.sessionId,
        userId: event.data.userId,
        epoch: event.data.epoch,
        expiresAt: event.data.expiresAt,
        renewedAt: event.occurredAt,
      };
    case 'SessionRenewed':
      return state.status === 'active'
        ? { ...state, expiresAt: event.data.expiresAt, renewedAt: event.occurredAt }
        : state;
    case 'SessionEnded':
      return state.status === 'active' ? { status: 'ended', sessionId: state.sessionId, userId: state.userId } : state;
    default:
      return unreachable(event);
  }
}

export const sessionAggregate: AggregateDefinition<SessionState, SessionEvents> = {
  context: 'identity',
  events: sessionEvents,
  initialState: initialSessionState,
  evolve: evolveSession,
};
