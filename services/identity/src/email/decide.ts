import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { EmailEvents, EmailState } from './events.ts';

/** Claims the address for `userId` unless someone holds it; the caller reads the owner from the new state. */
export type EmailCommand = { type: 'ClaimEmail'; userId: string; email: string };

export function decideEmail(command: EmailCommand, state: EmailState): Decision<EmailEvents> {
  switch (command.type) {
    case 'ClaimEmail':
      return state.claimed ? [] : [{ type: 'EmailClaimed', data: { userId: command.userId, email: command.email } }];
    default:
      return unreachable(command.type);
  }
}
