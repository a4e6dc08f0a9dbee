import { randomBytes } from 'node:crypto';
import { NODE_CREDENTIAL_PREFIX, NODE_JOIN_TOKEN_PREFIX } from '@agentpod/contracts';
import { sha256 } from '../credentials.ts';

/*
 * A node's secrets: `apj_<id body>_<secret>` (join token) and `apn_<id body>_<secret>` (credential), where the id
 * body is the node id without `nod_` (so the aggregate is found without a table) and the secret is 256 random
 * bits, base64url. Only the SHA-256 of the whole string is stored.
 */

export type NodeSecretKind = 'joinToken' | 'credential';

const PREFIX: Record<NodeSecretKind, string> = {
  joinToken: NODE_JOIN_TOKEN_PREFIX,
  credential: NODE_CREDENTIAL_PREFIX,
};

/** The id body cannot hold `_` and the secret is exactly 43 base64url characters, so the split is unambiguous. */
const SHAPE = /^(ap[jn]_)([a-z0-9]{20,40})_([A-Za-z0-9_-]{43})$/;

export function newNodeSecret(kind: NodeSecretKind, nodeId: string): { secret: string; hash: string } {
  const body = nodeId.slice('nod_'.length);
  const secret = `${PREFIX[kind]}${body}_${randomBytes(32).toString('base64url')}`;
  return { secret, hash: sha256(secret) };
}

/** The node a secret names and the hash to check it by; undefined when it is not shaped like this kind. */
export function parseNodeSecret(kind: NodeSecretKind, secret: string): { nodeId: string; hash: string } | undefined {
  const match = SHAPE.exec(secret);
  if (!match || match[1] !== PREFIX[kind] || match[2] === undefined) return undefined;
  return { nodeId: `nod_${match[2]}`, hash: sha256(secret) };
}
