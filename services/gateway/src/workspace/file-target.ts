import type { FileScope, RequestMeta } from '@agentpod/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/context.ts';
import { fileScopeOf, locate, type WorkspaceRef } from './targets.ts';

/**
 * What a file handler uses of its route context. Pod and node routes share query and body shapes and differ only
 * in their path parameters, so one handler serves both.
 */
export type FileContext<Q, B = undefined> = {
  params: unknown;
  query: Q;
  body: B;
  deps: ApiDeps;
  meta: RequestMeta;
  request: FastifyRequest;
  reply: FastifyReply;
};

/** The agent to ask and the scope its paths resolve in. */
export type FileTarget = { nodeId: string; scope: FileScope; ref: WorkspaceRef };

/** Where this request's files are, as pods answers for the caller (not_found / forbidden when it may not). */
export async function fileTarget(context: FileContext<unknown, unknown>, ref: WorkspaceRef): Promise<FileTarget> {
  const located = await locate(context.deps.nc, ref, context.meta);
  return { nodeId: located.nodeId, scope: fileScopeOf(ref, located), ref };
}
