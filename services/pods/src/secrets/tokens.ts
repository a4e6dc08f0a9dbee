import { randomBytes, randomInt } from 'node:crypto';
import { POD_ACCESS_TOKEN_PREFIX } from '@agentpod/contracts';

/** A pod access token: `apa_` and 256 random bits, base64url. */
export const newAccessToken = (): string => `${POD_ACCESS_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `nod_` and 24 random lower-case letters or digits (about 124 bits). */
export function newNodeId(): string {
  let id = 'nod_';
  for (let i = 0; i < 24; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}
