import {
  AppError,
  commandSubject,
  controlSubjects,
  hasPlatformAdmin,
  NODE_JOIN_TOKEN_TTL_MS,
  NodeCredentialCommands,
  NodeCredentialQueries,
  type NodeCredentialResult,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { AggregateRepository, handler } from '@agentpod/kit';
import { execute, type IdentityDeps } from '../deps.ts';
import { checkNodeCredential, decideNodeCredential } from './decide.ts';
import { nodeCredentialAggregate, nodeCredentialAggregateId } from './events.ts';
import { newNodeSecret, parseNodeSecret } from './secrets.ts';

const isSystem = (meta: RequestMeta, service: string): boolean =>
  meta.principal === undefined && meta.actor.kind === 'system' && meta.actor.id === service;

const notValid = () => new AppError('unauthenticated', 'this join token is not valid; ask for a new one');

/**
 * Node credentials: the pods service asks for join tokens and revocations, the gateway trades join tokens for
 * credentials and checks credentials on every agent socket. Nothing here reads a read model: every answer is
 * folded from the node's events, so a revocation holds on the very next check, on every replica.
 */
export function registerNodeCredentialHandlers(deps: IdentityDeps): void {
  const { runtime } = deps;
  const credentials = new AggregateRepository(runtime.store, nodeCredentialAggregate);

  runtime.serve(
    commandSubject('identity', 'issueNodeJoinToken'),
    handler(
      NodeCredentialCommands.issueNodeJoinToken,
      async (input, meta): Promise<NodeCredentialResult<'issueNodeJoinToken'>> => {
        if (!isSystem(meta, 'pods')) throw new AppError('forbidden', 'only the pods service issues join tokens');
        const { secret, hash } = newNodeSecret('joinToken', input.nodeId);
        const outcome = await execute(deps, credentials, nodeCredentialAggregateId(input.nodeId), meta, (state, now) =>
          decideNodeCredential(
            { type: 'IssueNodeJoinToken', nodeId: input.nodeId, tokenHash: hash, ttlMs: NODE_JOIN_TOKEN_TTL_MS },
            state,
            now,
          ),
        );
        const expiresAt = outcome.state.joinToken?.expiresAt;
        if (expiresAt === undefined) throw new Error('a new join token was not recorded');
        runtime.logger.info({ nodeId: input.nodeId, expiresAt }, 'node join token issued');
        return { token: secret, expiresAt };
      },
    ),
  );

  runtime.serve(
    commandSubject('identity', 'redeemNodeJoinToken'),
    handler(
      NodeCredentialCommands.redeemNodeJoinToken,
      async (input, meta): Promise<NodeCredentialResult<'redeemNodeJoinToken'>> => {
        const token = parseNodeSecret('joinToken', input.token);
        if (!token) throw notValid();
        // A fresh credential for each attempt; only the attempt whose append wins hands its credential out.
        const credential = newNodeSecret('credential', token.nodeId);
        const nodeMeta: RequestMeta = { ...meta, actor: { kind: 'node', id: token.nodeId } };
        const outcome = await execute(deps, credentials, nodeCredentialAggregateId(token.nodeId), nodeMeta, (s, now) =>
          decideNodeCredential(
            { type: 'RedeemNodeJoinToken', tokenHash: token.hash, credentialHash: credential.hash },
            s,
            now,
          ),
        );
        if (outcome.state.credentialHash !== credential.hash) throw new Error('the node credential was not recorded');
        runtime.logger.info({ nodeId: token.nodeId }, 'node joined: credential issued');
        return { nodeId: token.nodeId, credential: credential.secret };
      },
    ),
  );

  runtime.serve(
    commandSubject('identity', 'revokeNode'),
    handler(NodeCredentialCommands.revokeNode, async (input, meta): Promise<NodeCredentialResult<'revokeNode'>> => {
      const mayRevoke = isSystem(meta, 'pods') || (meta.principal !== undefined && hasPlatformAdmin(meta.principal));
      if (!mayRevoke) throw new AppError('forbidden', 'only the pods service or a platform admin revokes a node');
      const outcome = await execute(deps, credentials, nodeCredentialAggregateId(input.nodeId), meta, (state, now) =>
        decideNodeCredential({ type: 'RevokeNode', nodeId: input.nodeId }, state, now),
      );
      // Broadcast even when nothing was left to revoke: a retried revocation still reaches every gateway.
      runtime.nc.publish(controlSubjects.nodeRevoked, JSON.stringify({ nodeId: input.nodeId }));
      runtime.logger.info({ nodeId: input.nodeId, changed: outcome.events.length > 0 }, 'node credentials revoked');
      return {};
    }),
  );

  runtime.serve(
    querySubject('identity', 'authenticateNode'),
    handler(
      NodeCredentialQueries.authenticateNode,
      async (input): Promise<NodeCredentialResult<'authenticateNode'>> => {
        const credential = parseNodeSecret('credential', input.credential);
        if (!credential) throw new AppError('unauthenticated', 'this is not a node credential (apn_…)');
        const { state } = await credentials.load(nodeCredentialAggregateId(credential.nodeId));
        const nodeId = checkNodeCredential(state, credential.hash);
        if (nodeId instanceof AppError) throw nodeId;
        return { nodeId };
      },
    ),
  );
}
