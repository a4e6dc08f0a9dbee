import { randomBytes } from 'node:crypto';
import {
  type Actor,
  type AgentOp,
  type AgentOpInput,
  type AgentOpOutput,
  AgentOps,
  AppError,
  agentSubjects,
  type FileScope,
  Principal,
  querySubject,
  type RequestMeta,
  systemActor,
  type TerminalTarget,
  WorkspaceResults,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';

/*
 * What the terminal socket and the file routes share: who the caller is, where the workspace lives (asked of the
 * pods service with the caller's principal, so pods decides access), and asking the node's agent. The agent is
 * asked as the gateway, never with the caller's principal: a node (a tenant's own server) learns nothing about who
 * works on it.
 */

/** A pod's workspace (its volume, its running container) or a node's (its allowed roots, its shell). */
export type WorkspaceRef = { kind: 'pod'; tenantId: string; podId: string } | { kind: 'node'; node: string };

/** Where a workspace is: the node, and for a pod its running container and its volume. */
export type Located = { nodeId: string; containerId: string | null; volume: string | null };

export const describeRef = (ref: WorkspaceRef): string =>
  ref.kind === 'pod' ? `pod ${ref.tenantId}/${ref.podId}` : `node ${ref.node}`;

/** A fresh session id: 16 random bytes, base64url (one NATS subject token, unguessable). */
export const newSessionId = (): string => randomBytes(16).toString('base64url');

export const actorOf = (principal: Principal): Actor =>
  principal.via === 'token' && principal.tokenId
    ? { kind: 'token', id: principal.tokenId, onBehalfOf: principal.userId }
    : { kind: 'user', id: principal.userId };

/** The meta of a request made for the caller (pods decides from `principal`). */
export const callerMeta = (principal: Principal, correlationId: string, ref?: WorkspaceRef): RequestMeta => ({
  actor: actorOf(principal),
  correlationId,
  principal,
  ...(ref?.kind === 'pod' ? { tenantId: ref.tenantId } : {}),
});

/** Identity's answer for a credential (a session token or an API token); `unauthenticated` when it is no longer good. */
export async function authenticate(nc: NatsConnection, credential: string, correlationId: string): Promise<Principal> {
  const meta: RequestMeta = { actor: systemActor('gateway'), correlationId };
  return Principal.parse(await request(nc, querySubject('identity', 'authenticate'), { credential }, meta));
}

/** Asks pods where the workspace is, as the caller: `not_found` / `forbidden` when the caller may not use it. */
export async function locate(nc: NatsConnection, ref: WorkspaceRef, meta: RequestMeta): Promise<Located> {
  if (ref.kind === 'pod') {
    const key = { tenantId: ref.tenantId, podId: ref.podId };
    return WorkspaceResults.podWorkspace.parse(await request(nc, querySubject('pods', 'podWorkspace'), key, meta));
  }
  const answer = await request(nc, querySubject('pods', 'nodeWorkspace'), { nodeId: ref.node }, meta);
  return { ...WorkspaceResults.nodeWorkspace.parse(answer), containerId: null, volume: null };
}

/** Where a terminal runs: the pod's running container, or the node's own shell. */
export function terminalTargetOf(ref: WorkspaceRef, located: Located): TerminalTarget {
  if (ref.kind === 'node') return { kind: 'host' };
  if (!located.containerId) {
    throw new AppError('unavailable', `the pod has no running container: start ${describeRef(ref)} to open a terminal`);
  }
  return { kind: 'container', containerId: located.containerId };
}

/** Where file paths resolve: the pod's volume, or the node's allowed roots. */
export function fileScopeOf(ref: WorkspaceRef, located: Located): FileScope {
  if (ref.kind === 'node') return { kind: 'host' };
  if (!located.volume) {
    throw new AppError('not_found', `${describeRef(ref)} has no volume (its spec declares none), so it has no files`);
  }
  return { kind: 'volume', volume: located.volume };
}

/**
 * Asks the node's agent for an operation. No agent connected for the node is `unavailable` naming the node, so
 * the caller knows it is the node that is out of reach, not the control plane.
 */
export async function askAgent<K extends AgentOp>(
  nc: NatsConnection,
  nodeId: string,
  op: K,
  input: AgentOpInput<K>,
  correlationId: string,
  timeoutMs: number,
): Promise<AgentOpOutput<K>> {
  const meta: RequestMeta = { actor: systemActor('gateway'), correlationId };
  try {
    const answer = await request(nc, agentSubjects.command(nodeId, op), input, meta, { timeoutMs });
    return AgentOps[op].output.parse(answer) as AgentOpOutput<K>;
  } catch (error) {
    if (error instanceof AppError && error.code === 'unavailable') {
      const noAgent = (error.details as { noResponders?: boolean } | undefined)?.noResponders === true;
      const message = noAgent
        ? `node ${nodeId} is unreachable: its agent is not connected`
        : `node ${nodeId}: ${error.message}`;
      throw new AppError('unavailable', message, { cause: error });
    }
    throw error;
  }
}
