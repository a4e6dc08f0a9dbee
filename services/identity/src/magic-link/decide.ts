import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { LinkEvents, LinkState } from './events.ts';

export type LinkCommand =
  | { type: 'IssueMagicLink'; userId: string; email: string; ttlMs: number }
  /** Works once: of two racing redemptions, the one that appends second decides again and finds it used. */
  | { type: 'RedeemMagicLink'; sessionId: string };

export function decideLink(command: LinkCommand, state: LinkState, now: Date): Decision<LinkEvents> {
  switch (command.type) {
    case 'IssueMagicLink':
      // A fresh 256-bit token never collides; an existing link means the caller reused a token.
      if (state.status !== 'none') return new AppError('conflict', 'this sign-in link exists already');
      return [
        {
          type: 'MagicLinkIssued',
          data: {
            userId: command.userId,
            email: command.email,
            expiresAt: new Date(now.getTime() + command.ttlMs).toISOString(),
          },
        },
      ];
    case 'RedeemMagicLink':
      return redeem(command.sessionId, state, now);
    default:
      return unreachable(command);
  }
}

function redeem(sessionId: string, state: LinkState, now: Date): Decision<LinkEvents> {
  switch (state.status) {
    case 'none':
      return new AppError('unauthenticated', 'this sign-in link is not valid; ask for a new one');
    case 'redeemed':
      return new AppError('unauthenticated', 'this sign-in link has already been used; ask for a new one');
    case 'issued':
      if (now.getTime() >= Date.parse(state.expiresAt)) {
        return new AppError('unauthenticated', 'this sign-in link has expired; ask for a new one');
      }
      return [{ type: 'MagicLinkRedeemed', data: { userId: state.userId, sessionId } }];
    default:
      return unreachable(state);
  }
}
