import { type ApiTokenView, type EnvelopeOf, identityEvents, type TokenRole } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/** An API token, keyed by its id (`tok_…`), which travels inside the token so it can be found without a table. */
export const tokenEvents = {
  ApiTokenCreated: identityEvents.ApiTokenCreated,
  ApiTokenRevoked: identityEvents.ApiTokenRevoked,
};
export type TokenEvents = typeof tokenEvents;
export type TokenEvent = EnvelopeOf<TokenEvents>;

export type ApiToken = {
  status: 'active' | 'revoked';
  tokenId: string;
  userId: string;
  name: string;
  role: TokenRole;
  tenantId: string | undefined;
  expiresAt: string | undefined;
  secretHash: string;
  /** The user's token epoch at creation: the token dies when the user's epoch moves on (disabled). */
  epoch: number;
  createdAt: string;
};

export type TokenState = { status: 'none' } | ApiToken;

export const initialTokenState: TokenState = { status: 'none' };

export function evolveToken(state: TokenState, event: TokenEvent): TokenState {
  switch (event.type) {
    case 'ApiTokenCreated':
      return {
        status: 'active',
        tokenId: event.data.tokenId,
        userId: event.data.userId,
        name: event.data.name,
        role: event.data.role,
        tenantId: event.data.tenantId,
        expiresAt: event.data.expiresAt,
        secretHash: event.data.secretHash,
        epoch: event.data.epoch,
        createdAt: event.occurredAt,
      };
    case 'ApiTokenRevoked':
      return state.status === 'active' ? { ...state, status: 'revoked' } : state;
    default:
      return unreachable(event);
  }
}

export const tokenAggregate: AggregateDefinition<TokenState, TokenEvents> = {
  context: 'identity',
  events: tokenEvents,
  initialState: initialTokenState,
  evolve: evolveToken,
};

export const toTokenView = (token: ApiToken): ApiTokenView => ({
  id: token.tokenId,
  name: token.name,
  role: token.role,
  tenantId: token.tenantId ?? null,
  userId: token.userId,
  createdAt: token.createdAt,
  expiresAt: token.expiresAt ?? null,
  revoked: token.status === 'revoked',
});
