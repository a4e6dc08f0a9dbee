import type { Projection } from '@agentpod/kit';
import type { IdentityDatabase } from '../../db.ts';
import { unreachable } from '../../never.ts';
import { eventsOf } from '../../read-model.ts';
import { userEvents } from '../../user/events.ts';
import { tokenEvents } from '../events.ts';

const schemas = { ...tokenEvents, UserDisabled: userEvents.UserDisabled };

/**
 * `api_tokens`: every token without its secret hash, for listing. Disabling a user voids their tokens for good,
 * so it marks them revoked here too.
 */
export const apiTokensProjection: Projection<IdentityDatabase> = {
  name: 'api_tokens',
  context: 'identity',
  async apply(tx, stored) {
    for (const event of eventsOf(schemas, stored)) {
      switch (event.type) {
        case 'ApiTokenCreated':
          await tx
            .insertInto('api_tokens')
            .values({
              id: event.data.tokenId,
              user_id: event.data.userId,
              name: event.data.name,
              role: event.data.role,
              tenant_id: event.data.tenantId ?? null,
              created_at: event.occurredAt,
              expires_at: event.data.expiresAt ?? null,
              revoked_at: null,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        case 'ApiTokenRevoked':
          await tx
            .updateTable('api_tokens')
            .set({ revoked_at: event.occurredAt })
            .where('id', '=', event.data.tokenId)
            .where('revoked_at', 'is', null)
            .execute();
          break;
        case 'UserDisabled':
          await tx
            .updateTable('api_tokens')
            .set({ revoked_at: event.occurredAt })
            .where('user_id', '=', event.data.userId)
            .where('revoked_at', 'is', null)
            .execute();
          break;
        default:
          unreachable(event);
      }
    }
  },
};
