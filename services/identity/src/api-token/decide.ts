import { AppError, type TokenRole } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { hashesEqual } from '../credentials.ts';
import { unreachable } from '../never.ts';
import type { User } from '../user/events.ts';
import type { ApiToken, TokenEvents, TokenState } from './events.ts';

export type TokenCommand =
  | {
      type: 'CreateApiToken';
      tokenId: string;
      userId: string;
      name: string;
      role: TokenRole;
      tenantId: string | undefined;
      /** Requested lifetime; none = until revoked (or until `notAfter`). */
      expiresInMs: number | undefined;
      /** The latest expiry allowed: a token created with a token never outlives it. */
      notAfter: string | undefined;
      secretHash: string;
      epoch: number;
    }
  | { type: 'RevokeApiToken' };

/** The earlier of now + lifetime and the cap; undefined when neither is set. */
function expiry(now: Date, expiresInMs: number | undefined, notAfter: string | undefined): string | undefined {
  const candidates = [
    ...(expiresInMs === undefined ? [] : [now.getTime() + expiresInMs]),
    ...(notAfter === undefined ? [] : [Date.parse(notAfter)]),
  ];
  return candidates.length === 0 ? undefined : new Date(Math.min(...candidates)).toISOString();
}

export function decideToken(command: TokenCommand, state: TokenState, now: Date): Decision<TokenEvents> {
  switch (command.type) {
    case 'CreateApiToken': {
      if (state.status !== 'none') return new AppError('conflict', 'this token exists already');
      const expiresAt = expiry(now, command.expiresInMs, command.notAfter);
      return [
        {
          type: 'ApiTokenCreated',
          ...(command.tenantId === undefined ? {} : { tenantId: command.tenantId }),
          data: {
            tokenId: command.tokenId,
            userId: command.userId,
            name: command.name,
            role: command.role,
            ...(command.tenantId === undefined ? {} : { tenantId: command.tenantId }),
            ...(expiresAt === undefined ? {} : { expiresAt }),
            secretHash: command.secretHash,
            epoch: command.epoch,
          },
        },
      ];
    }
    case 'RevokeApiToken':
      if (state.status === 'none') return new AppError('not_found', 'no such token');
      if (state.status === 'revoked') return [];
      return [
        {
          type: 'ApiTokenRevoked',
          ...(state.tenantId === undefined ? {} : { tenantId: state.tenantId }),
          data: { tokenId: state.tokenId },
        },
      ];
    default:
      return unreachable(command);
  }
}

/**
 * Whether an API token signs its user in now: the secret matches (constant-time), it is neither revoked nor
 * expired, and its user exists, is enabled and has not been disabled since it was created.
 */
export function checkApiToken(
  token: TokenState,
  secretHash: string,
  user: User | undefined,
  now: Date,
): { token: ApiToken; user: User } | AppError {
  const invalid = new AppError('unauthenticated', 'this API token is not valid');
  if (token.status === 'none' || !hashesEqual(token.secretHash, secretHash)) return invalid;
  if (token.status === 'revoked') return new AppError('unauthenticated', 'this API token has been revoked');
  if (token.expiresAt !== undefined && now.getTime() >= Date.parse(token.expiresAt)) {
    return new AppError('unauthenticated', 'this API token has expired');
  }
  if (!user || user.userId !== token.userId) return invalid;
  if (user.disabled) return new AppError('unauthenticated', 'this account is disabled');
  if (user.tokenEpoch !== token.epoch) return invalid;
  return { token, user };
}
