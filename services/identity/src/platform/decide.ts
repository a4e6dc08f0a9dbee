import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { PlatformEvents, PlatformState } from './events.ts';

/**
 * Bootstrap happens once. Running it again for the same user while that user is not yet a platform admin
 * finishes a bootstrap that was interrupted between its steps; anything else is `conflict`.
 */
export type PlatformCommand = { type: 'Bootstrap'; userId: string; userIsPlatformAdmin: boolean };

export function decidePlatform(command: PlatformCommand, state: PlatformState): Decision<PlatformEvents> {
  switch (command.type) {
    case 'Bootstrap':
      if (state.bootstrappedBy === undefined) {
        return [{ type: 'PlatformBootstrapped', data: { userId: command.userId } }];
      }
      if (state.bootstrappedBy === command.userId && !command.userIsPlatformAdmin) return [];
      return new AppError('conflict', 'a platform admin already exists; bootstrap runs only once');
    default:
      return unreachable(command.type);
  }
}
