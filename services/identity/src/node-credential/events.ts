import { type EnvelopeOf, nodeCredentialEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * A node's join token and credential, keyed by `nodecred_<nodeId>`. The node id travels inside both secrets
 * (`apj_<id body>_<secret>`, `apn_<id body>_<secret>`), so the aggregate is found without a table; only SHA-256
 * hashes of the secrets are stored.
 */
export const nodeCredentialAggregateId = (nodeId: string): string => `nodecred_${nodeId}`;

export type NodeCredentialEvents = typeof nodeCredentialEvents;
export type NodeCredentialEvent = EnvelopeOf<NodeCredentialEvents>;

export type NodeCredentialState = {
  /** Set by the first event; every later event is about the same node. */
  nodeId: string | undefined;
  /** The one outstanding join token: a newer one replaces it, redeeming or revoking uses it up. */
  joinToken: { hash: string; expiresAt: string } | undefined;
  /** Hash of the last join token redeemed, to tell "used" from "unknown" when it comes again. */
  usedJoinTokenHash: string | undefined;
  /** Hash of the one valid credential; a new one replaces it, revoking removes it. */
  credentialHash: string | undefined;
  /** True from a revocation until the next join token. */
  revoked: boolean;
};

export const initialNodeCredentialState: NodeCredentialState = {
  nodeId: undefined,
  joinToken: undefined,
  usedJoinTokenHash: undefined,
  credentialHash: undefined,
  revoked: false,
};

export function evolveNodeCredential(state: NodeCredentialState, event: NodeCredentialEvent): NodeCredentialState {
  switch (event.type) {
    case 'NodeJoinTokenIssued':
      return {
        ...state,
        nodeId: event.data.nodeId,
        joinToken: { hash: event.data.tokenHash, expiresAt: event.data.expiresAt },
        revoked: false,
      };
    case 'NodeCredentialIssued':
      return {
        ...state,
        nodeId: event.data.nodeId,
        joinToken: undefined,
        usedJoinTokenHash: state.joinToken?.hash,
        credentialHash: event.data.credentialHash,
      };
    case 'NodeCredentialsRevoked':
      return { ...state, nodeId: event.data.nodeId, joinToken: undefined, credentialHash: undefined, revoked: true };
    default:
      return unreachable(event);
  }
}

export const nodeCredentialAggregate: AggregateDefinition<NodeCredentialState, NodeCredentialEvents> = {
  context: 'identity',
  events: nodeCredentialEvents,
  initialState: initialNodeCredentialState,
  evolve: evolveNodeCredential,
};
