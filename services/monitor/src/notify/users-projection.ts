import { identityEvents } from '@agentpod/contracts';
import { eventsOf, type Projection } from '@agentpod/kit';
import type { Transaction } from 'kysely';
import type { MonitorDb } from '../db.ts';

/*
 * `users`: who has which email address, who is a platform admin and who is disabled, from IDENTITY. Alert emails
 * go to these addresses (a tenant's owners and admins, the platform admins); the monitor never asks identity.
 */

const schemas = {
  UserRegistered: identityEvents.UserRegistered,
  PlatformAdminGranted: identityEvents.PlatformAdminGranted,
  UserDisabled: identityEvents.UserDisabled,
  UserEnabled: identityEvents.UserEnabled,
};

export const usersProjection: Projection<MonitorDb> = {
  name: 'alert_users',
  context: 'identity',
  async apply(transaction, stored) {
    const tx = transaction as Transaction<MonitorDb>;
    for (const event of eventsOf(schemas, stored)) {
      switch (event.type) {
        case 'UserRegistered':
          await tx
            .insertInto('users')
            .values({
              user_id: event.data.userId,
              email: event.data.email,
              platform_admin: event.data.platformAdmin,
              disabled: false,
            })
            .onConflict((c) => c.column('user_id').doUpdateSet({ email: event.data.email }))
            .execute();
          break;
        case 'PlatformAdminGranted':
          await tx
            .updateTable('users')
            .set({ platform_admin: true })
            .where('user_id', '=', event.data.userId)
            .execute();
          break;
        case 'UserDisabled':
        case 'UserEnabled':
          await tx
            .updateTable('users')
            .set({ disabled: event.type === 'UserDisabled' })
            .where('user_id', '=', event.data.userId)
            .execute();
          break;
        default: {
          const unknown: never = event;
          throw new Error(`unhandled identity event ${(unknown as { type: string }).type}`);
        }
      }
    }
  },
};
