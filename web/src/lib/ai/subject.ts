import type { AiSubject } from '@agentpod/contracts';
import type { WorkspaceTarget } from '../workspace/target.ts';

/*
 * What the assistant is asked about, from where the person is: on a pod's page that pod, on a node's page that
 * node, elsewhere nothing. The chat's tenant is the pod's on a pod page (a conversation stays in one tenant and
 * a pod is asked about from its own), otherwise the tenant switcher's.
 */

export function subjectOfRoute(routeId: string | null, params: Partial<Record<string, string>>): AiSubject {
  if (routeId === '/pods/[tenant]/[pod]' && params.tenant && params.pod)
    return { kind: 'pod', tenantId: params.tenant, podId: params.pod };
  if (routeId === '/nodes/[node]' && params.node) return { kind: 'node', nodeId: params.node };
  return { kind: 'none' };
}

export const chatTenant = (subject: AiSubject, switcher: string): string =>
  subject.kind === 'pod' ? subject.tenantId : switcher;

export const subjectLabel = (subject: AiSubject): string =>
  subject.kind === 'pod'
    ? `pod ${subject.tenantId}/${subject.podId}`
    : subject.kind === 'node'
      ? `node ${subject.nodeId}`
      : 'nothing in particular';

export const sameSubject = (a: AiSubject, b: AiSubject): boolean => subjectKey(a) === subjectKey(b);

const subjectKey = (subject: AiSubject): string =>
  subject.kind === 'pod'
    ? `pod:${subject.tenantId}/${subject.podId}`
    : subject.kind === 'node'
      ? `node:${subject.nodeId}`
      : '';

/**
 * The terminal a suggested command is typed into: the conversation's pod or node, else the one of this page
 * (a general question asked on a pod page), else none.
 */
export function terminalTarget(conversation: AiSubject, page: AiSubject): WorkspaceTarget | undefined {
  const subject = conversation.kind !== 'none' ? conversation : page;
  if (subject.kind === 'pod') return { kind: 'pod', tenantId: subject.tenantId, podId: subject.podId };
  if (subject.kind === 'node') return { kind: 'node', nodeId: subject.nodeId };
  return undefined;
}

/** The page that holds a target's workspace. */
export const workspacePage = (target: WorkspaceTarget): string =>
  target.kind === 'pod'
    ? `/pods/${encodeURIComponent(target.tenantId)}/${encodeURIComponent(target.podId)}`
    : `/nodes/${encodeURIComponent(target.nodeId)}`;
