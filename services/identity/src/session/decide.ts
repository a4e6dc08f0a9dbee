import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { User } from '../user/events.ts';
import type { ActiveSession, SessionEvents, SessionState } from './events.ts';

export type SessionCommand =
  | { type: 'StartSession'; sessionId: string; userId: string; epoch: number; ttlMs: number }
  /** Slides the expiry to now + ttl, but only when the last move is `renewEveryMs` old: one event an hour at most. */
  | { type: 'RenewSession'; ttlMs: number; renewEveryMs: number }
  /** Sign out; ending an ended or unknown session decides nothing. */
  | { type: 'EndSession' };

const plus = (now: Date, ms: number): string => new Date(now.getTime() + ms).toISOString();

export function decideSession(command: SessionCommand, state: SessionState, now: Date): Decision<SessionEvents> {
  switch (command.type) {
    case 'StartSession':
      if (state.status !== 'none') return new AppError('conflict', 'this session exists already');
      return [
        {
          type: 'SessionStarted',
          data: {
            sessionId: command.sessionId,
            userId: command.userId,
            epoch: command.epoch,
            expiresAt: plus(now, command.ttlMs),
          },
        },
      ];
    case 'RenewSession':
      if (state.status !== 'active' || isExpired(state, now)) return [];
      if (now.getTime() - Date.parse(state.renewedAt) < command.renewEveryMs) return [];
      return [{ type: 'SessionRenewed', data: { expiresAt: plus(now, command.ttlMs) } }];
    case 'EndSession':
      return state.status === 'active' ? [{ type: 'SessionEnded', data: { reason: 'sign-out' } }] : [];
    default:
      return unreachable(command);
  }
}

const isExpired = (session: ActiveSession, now: Date): boolean => now.getTime() >= Date.parse(session.expiresAt);

/**
 * Whether a session signs its user in now: it is active and unexpired, its user exists and is enabled, and the
 * user has not signed out everywhere (or been disabled) since it started. Every refusal is `unauthenticated`.
 */
export function checkSession(
  session: SessionState,
  user: User | undefined,
  now: Date,
): { session: ActiveSession; user: User } | AppError {
  if (session.status === 'none') return new AppError('unauthenticated', 'this session is not valid; sign in again');
  if (session.status === 'ended') return new AppError('unauthenticated', 'this session has ended; sign in again');
  if (isExpired(session, now)) return new AppError('unauthenticated', 'this session has expired; sign in again');
  if (!user || user.userId !== session.userId) return new AppError('unauthenticated', 'this session is not valid');
  if (user.disabled) return new AppError('unauthenticated', 'this account is disabled');
  if (user.sessionEpoch !== session.epoch) {
    return new AppError('unauthenticated', 'this session was signed out; sign in again');
  }
  return { session, user };
}
