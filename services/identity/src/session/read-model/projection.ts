import type { Projection } from '@agentpod/kit';
import type { IdentityDatabase } from '../../db.ts';
import { unreachable } from '../../never.ts';
import { eventsOf } from '../../read-model.ts';
import { userEvents } from '../../user/events.ts';
import { sessionEvents } from '../events.ts';

const schemas = {
  ...sessionEvents,
  UserSessionsRevoked: userEvents.UserSessionsRevoked,
  UserDisabled: userEvents.UserDisabled,
};

/**
 * `sessions`: who is signed in where, for display. Signing out everywhere or disabling the user ends every open
 * row of the user. Authentication reads the session and user aggregates, never this table.
 */
export const sessionsProjection: Projection<IdentityDatabase> = {
  name: 'sessions',
  context: 'identity',
  async apply(tx, stored) {
    for (const event of eventsOf(schemas, stored)) {
      switch (event.type) {
        case 'SessionStarted':
          await tx
            .insertInto('sessions')
            .values({
              id: event.data.sessionId,
              aggregate_id: event.aggregateId,
              user_id: event.data.userId,
              started_at: event.occurredAt,
              expires_at: event.data.expiresAt,
              ended_at: null,
              end_reason: null,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        case 'SessionRenewed':
          await tx
            .updateTable('sessions')
            .set({ expires_at: event.data.expiresAt })
            .where('aggregate_id', '=', event.aggregateId)
            .execute();
          break;
        case 'SessionEnded':
          await tx
            .updateTable('sessions')
            .set({ ended_at: event.occurredAt, end_reason: event.data.reason })
            .where('aggregate_id', '=', event.aggregateId)
            .where('ended_at', 'is', null)
            .execute();
          break;
        case 'UserSessionsRevoked':
        case 'UserDisabled':
          await tx
            .updateTable('sessions')
            .set({
              ended_at: event.occurredAt,
              end_reason: event.type === 'UserDisabled' ? 'user-disabled' : 'sign-out-everywhere',
            })
            .where('user_id', '=', event.data.userId)
            .where('ended_at', 'is', null)
            .execute();
          break;
        default:
          unreachable(event);
      }
    }
  },
};
