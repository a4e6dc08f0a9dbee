import { AppError } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { hashesEqual } from '../credentials.ts';
import { unreachable } from '../never.ts';
import type { NodeCredentialEvents, NodeCredentialState } from './events.ts';

export type NodeCredentialCommand =
  /** A new join token; it replaces one that is still outstanding (only the latest works). */
  | { type: 'IssueNodeJoinToken'; nodeId: string; tokenHash: string; ttlMs: number }
  /**
   * Works once: of two racing redemptions, the one that appends second decides again on fresh state, finds the
   * token used and is refused, so one token gives exactly one credential.
   */
  | { type: 'RedeemNodeJoinToken'; tokenHash: string; credentialHash: string }
  /** Ends the credential and any outstanding join token; nothing to end is a no-op. */
  | { type: 'RevokeNode'; nodeId: string };

const notValid = () => new AppError('unauthenticated', 'this join token is not valid; ask for a new one');

export function decideNodeCredential(
  command: NodeCredentialCommand,
  state: NodeCredentialState,
  now: Date,
): Decision<NodeCredentialEvents> {
  switch (command.type) {
    case 'IssueNodeJoinToken':
      if (state.nodeId !== undefined && state.nodeId !== command.nodeId) {
        return new AppError('internal', `credential record of ${state.nodeId} asked for ${command.nodeId}`);
      }
      return [
        {
          type: 'NodeJoinTokenIssued',
          data: {
            nodeId: command.nodeId,
            tokenHash: command.tokenHash,
            expiresAt: new Date(now.getTime() + command.ttlMs).toISOString(),
          },
        },
      ];
    case 'RedeemNodeJoinToken':
      return redeem(command.tokenHash, command.credentialHash, state, now);
    case 'RevokeNode':
      if (state.credentialHash === undefined && state.joinToken === undefined) return [];
      return [{ type: 'NodeCredentialsRevoked', data: { nodeId: command.nodeId } }];
    default:
      return unreachable(command);
  }
}

function redeem(
  tokenHash: string,
  credentialHash: string,
  state: NodeCredentialState,
  now: Date,
): Decision<NodeCredentialEvents> {
  const { joinToken, nodeId } = state;
  if (joinToken === undefined || nodeId === undefined || !hashesEqual(joinToken.hash, tokenHash)) {
    if (state.usedJoinTokenHash !== undefined && hashesEqual(state.usedJoinTokenHash, tokenHash) && !state.revoked) {
      return new AppError('unauthenticated', 'this join token has already been used; ask for a new one');
    }
    return notValid();
  }
  if (now.getTime() >= Date.parse(joinToken.expiresAt)) {
    return new AppError('unauthenticated', 'this join token has expired; ask for a new one');
  }
  return [{ type: 'NodeCredentialIssued', data: { nodeId, credentialHash } }];
}

/** The node a credential signs in, or why not: it must be the node's current credential (constant-time check). */
export function checkNodeCredential(state: NodeCredentialState, credentialHash: string): string | AppError {
  if (state.nodeId !== undefined && state.revoked) {
    return new AppError('unauthenticated', 'this node credential has been revoked');
  }
  if (state.nodeId === undefined || state.credentialHash === undefined) {
    return new AppError('unauthenticated', 'this node credential is not valid');
  }
  if (!hashesEqual(state.credentialHash, credentialHash)) {
    return new AppError('unauthenticated', 'this node credential is not valid');
  }
  return state.nodeId;
}
