import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { UserEvents, UserState } from './events.ts';

export type UserCommand =
  /** Idempotent: registering a registered user decides nothing (it finishes an interrupted registration). */
  | { type: 'RegisterUser'; userId: string; email: string }
  | { type: 'GrantPlatformAdmin' }
  /** `by` is the acting user: nobody may disable themselves (they would lock themselves out). */
  | { type: 'SetUserDisabled'; disabled: boolean; by: string | undefined }
  | { type: 'RevokeSessions' };

const noSuchUser = () => new AppError('not_found', 'no such user');

export function decideUser(command: UserCommand, state: UserState): Decision<UserEvents> {
  switch (command.type) {
    case 'RegisterUser':
      if (state.registered) return [];
      return [{ type: 'UserRegistered', data: { userId: command.userId, email: command.email, platformAdmin: false } }];
    case 'GrantPlatformAdmin':
      if (!state.registered) return noSuchUser();
      return state.platformAdmin ? [] : [{ type: 'PlatformAdminGranted', data: { userId: state.userId } }];
    case 'SetUserDisabled':
      if (!state.registered) return noSuchUser();
      if (command.disabled && command.by === state.userId) {
        return new AppError('invalid', 'you cannot disable your own account');
      }
      if (state.disabled === command.disabled) return [];
      return command.disabled
        ? [{ type: 'UserDisabled', data: { userId: state.userId } }]
        : [{ type: 'UserEnabled', data: { userId: state.userId } }];
    case 'RevokeSessions':
      if (!state.registered) return noSuchUser();
      return [{ type: 'UserSessionsRevoked', data: { userId: state.userId } }];
    default:
      return unreachable(command);
  }
}
