import type { Projection } from '@agentpod/kit';
import type { IdentityDatabase } from '../../db.ts';
import { unreachable } from '../../never.ts';
import { eventsOf } from '../../read-model.ts';
import { userEvents } from '../events.ts';

/** `users`: every user, for listing (authorisation reads the user aggregate, not this table). */
export const usersProjection: Projection<IdentityDatabase> = {
  name: 'users',
  context: 'identity',
  async apply(tx, stored) {
    for (const event of eventsOf(userEvents, stored)) {
      switch (event.type) {
        case 'UserRegistered':
          await tx
            .insertInto('users')
            .values({
              id: event.data.userId,
              email: event.data.email,
              platform_admin: event.data.platformAdmin,
              disabled: false,
              created_at: event.occurredAt,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        case 'PlatformAdminGranted':
          await tx.updateTable('users').set({ platform_admin: true }).where('id', '=', event.data.userId).execute();
          break;
        case 'UserDisabled':
        case 'UserEnabled':
          await tx
            .updateTable('users')
            .set({ disabled: event.type === 'UserDisabled' })
            .where('id', '=', event.data.userId)
            .execute();
          break;
        case 'UserSessionsRevoked':
          break;
        default:
          unreachable(event);
      }
    }
  },
};
