/*
 * What a workspace belongs to: a pod (its container and its volume) or a node (its shell and its allowed roots).
 * Both speak the same terminal protocol and the same file routes, under two prefixes (contracts/src/workspace.ts).
 */

export type WorkspaceTarget = { kind: 'pod'; tenantId: string; podId: string } | { kind: 'node'; nodeId: string };

/** The target's API prefix below `/api/v1` (what `api()` takes). */
export function targetPath(target: WorkspaceTarget): string {
  return target.kind === 'pod'
    ? `/tenants/${encodeURIComponent(target.tenantId)}/pods/${encodeURIComponent(target.podId)}`
    : `/nodes/${encodeURIComponent(target.nodeId)}`;
}

/** One string per target, for maps keyed by target. */
export const targetKey = (target: WorkspaceTarget): string =>
  target.kind === 'pod' ? `pod:${target.tenantId}/${target.podId}` : `node:${target.nodeId}`;

/** A short name for people: `acme/web` or `node-1`. */
export const targetLabel = (target: WorkspaceTarget): string =>
  target.kind === 'pod' ? `${target.tenantId}/${target.podId}` : target.nodeId;

/**
 * The terminal WebSocket of a target on this page's origin (ws: beside http:, wss: beside https:). Credentials
 * are the session cookie the browser sends with the upgrade and its Origin header; never anything in the URL.
 */
export function terminalSocketUrl(target: WorkspaceTarget, pageUrl: string): string {
  const url = new URL(`/api/v1${targetPath(target)}/terminal`, pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}
