import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import { STALE_NAME_CLAIM_MS } from '../settings.ts';
import type { NameEvents, NameState } from './events.ts';

/** What the handler found about the node holding the claim, read from that node's aggregate. */
export type Holder = { nodeId: string; state: 'live' | 'removed' | 'never-added' };

export type NameCommand =
  /** `holder`: what became of the node that holds the claim now, when it is another node. */
  | { type: 'ClaimName'; name: string; nodeId: string; holder: Holder | undefined; now: Date }
  | { type: 'ReleaseName'; name: string; nodeId: string };

/**
 * A claim held by a live node refuses; one held by a removed node, or by a node never added and older than a
 * creation takes, passes to the new node.
 */
export function decideName(command: NameCommand, state: NameState): Decision<NameEvents> {
  switch (command.type) {
    case 'ClaimName': {
      const { name, nodeId } = command;
      const claim = [{ type: 'NodeNameClaimed' as const, data: { name, nodeId } }];
      if (!state.claimed) return claim;
      if (state.nodeId === nodeId) return [];
      const holder = command.holder?.nodeId === state.nodeId ? command.holder.state : 'live';
      const abandoned =
        holder === 'removed' ||
        (holder === 'never-added' && Date.parse(state.claimedAt) < command.now.getTime() - STALE_NAME_CLAIM_MS);
      if (!abandoned) return new AppError('conflict', `a node named ${name} exists already`);
      return claim;
    }
    case 'ReleaseName':
      return state.claimed && state.nodeId === command.nodeId
        ? [{ type: 'NodeNameReleased', data: { name: command.name, nodeId: command.nodeId } }]
        : [];
    default:
      return unreachable(command);
  }
}
