import type { Projection } from '@agentpod/kit';
import type { IdentityDatabase } from '../../db.ts';
import { unreachable } from '../../never.ts';
import { eventsOf } from '../../read-model.ts';
import { linkEvents } from '../events.ts';

/** `magic_links`: issued links by address and time, and whether and when each was redeemed. */
export const magicLinksProjection: Projection<IdentityDatabase> = {
  name: 'magic_links',
  context: 'identity',
  async apply(tx, stored) {
    for (const event of eventsOf(linkEvents, stored)) {
      switch (event.type) {
        case 'MagicLinkIssued':
          await tx
            .insertInto('magic_links')
            .values({
              id: event.aggregateId,
              user_id: event.data.userId,
              email: event.data.email,
              issued_at: event.occurredAt,
              expires_at: event.data.expiresAt,
              redeemed_at: null,
              session_id: null,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        case 'MagicLinkRedeemed':
          await tx
            .updateTable('magic_links')
            .set({ redeemed_at: event.occurredAt, session_id: event.data.sessionId })
            .where('id', '=', event.aggregateId)
            .execute();
          break;
        default:
          unreachable(event);
      }
    }
  },
};
