import { createHash, randomBytes } from 'node:crypto';
import { INVITATION_TOKEN_PREFIX } from '@agentpod/contracts';

/** An invitation token: 256 random bits, base64url, prefixed. Shown once (in the email), stored only hashed. */
export const newInvitationToken = (): string => `${INVITATION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** SHA-256 (hex) of a token: what events and tables keep instead of the token. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `inv_` and 24 characters of [a-z2-7] (120 random bits): an id that is also a safe URL path segment. */
export function newInvitationId(): string {
  const bytes = randomBytes(24);
  let id = 'inv_';
  // 32 symbols: the low 5 bits of each byte index the alphabet without bias.
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}
