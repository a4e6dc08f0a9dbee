import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppError,
  effectiveRole,
  hasPlatformAdmin,
  type Principal,
  querySubject,
  type RequestMeta,
  roleAtLeast,
  TERMINAL_STREAM_BYTE,
  type TerminalServerMessage,
} from '@agentpod/contracts';
import { csrfTokenFor } from '../auth/cookies.ts';
import type { GatewayOptions } from '../options.ts';
import { CREDENTIALS, type FakeWorld, MEMBERSHIPS, startFakeWorld } from '../test-support/fake-services.ts';
import { NODE_ID } from '../test-support/pod-fixtures.ts';
import { defaultWorkspaceOptions, type WorkspaceOptions } from './settings.ts';
import { StandInAgent } from './stand-in-agent.testing.ts';

/*
 * The workspace tests' world: the gateway on real NATS with the fake identity and tenants, a stand-in pods service
 * answering podWorkspace / nodeWorkspace by the same rules as the real one (member+ for a pod, platform admin or
 * owner of the node's tenant for a node, the tenant's other members forbidden), and a stand-in agent on NODE_ID working in a temporary directory.
 */

/** A node with no agent connected. */
export const LOST_NODE = `nod_${'b2'.repeat(12)}`;
export const VOLUME = 'agentpod-acme_web';

/** Pods of tenant acme: where each one's workspace is. */
const PODS: Record<string, { nodeId: string; containerId: string | null; volume: string | null }> = {
  web: { nodeId: NODE_ID, containerId: 'c0ffee', volume: VOLUME },
  stopped: { nodeId: NODE_ID, containerId: null, volume: 'agentpod-acme_stopped' },
  novol: { nodeId: NODE_ID, containerId: 'c0ffee', volume: null },
  vanished: { nodeId: NODE_ID, containerId: 'gone', volume: null },
  lost: { nodeId: LOST_NODE, containerId: 'c0ffee', volume: 'agentpod-acme_lost' },
};
/** Nodes by id or name, and the tenant owning each (null: the platform pool). */
const NODES: Record<string, { nodeId: string; tenantId: string | null }> = {
  [NODE_ID]: { nodeId: NODE_ID, tenantId: 'acme' },
  'edge-1': { nodeId: NODE_ID, tenantId: 'acme' },
  lost: { nodeId: LOST_NODE, tenantId: null },
};

export type WorkspaceWorld = FakeWorld & {
  agent: StandInAgent;
  root: string;
  address: string;
  /** Users the stand-in pods service treats as removed from every tenant. */
  removed: Set<string>;
  restoreIdentity(): Promise<void>;
};

export async function startWorkspaceWorld(workspace: Partial<WorkspaceOptions> = {}): Promise<WorkspaceWorld> {
  const options: Partial<GatewayOptions> = { workspace: { ...defaultWorkspaceOptions(), ...workspace } };
  const world = await startFakeWorld(options);
  const root = await mkdtemp(join(tmpdir(), 'agentpod-workspace-'));
  const agent = new StandInAgent(world.nc, NODE_ID, root);
  const removed = new Set<string>();
  try {
    await mkdir(join(root, 'volumes', VOLUME), { recursive: true });
    await mkdir(join(root, 'host'), { recursive: true });
    const roleOf = (principal: Principal, tenantId: string) =>
      effectiveRole(
        principal,
        tenantId,
        removed.has(principal.userId) ? undefined : MEMBERSHIPS[principal.userId]?.[tenantId],
      );
    await world.answer(querySubject('pods', 'podWorkspace'), (data, meta: RequestMeta) => {
      const { tenantId, podId } = data as { tenantId: string; podId: string };
      const principal = meta.principal;
      if (!principal) throw new AppError('unauthenticated', 'no principal');
      const role = roleOf(principal, tenantId);
      const pod = tenantId === 'acme' ? PODS[podId] : undefined;
      if (!role || !pod)
        throw new AppError('not_found', `pod ${tenantId}/${podId} does not exist or you have no access`);
      if (!roleAtLeast(role, 'member')) throw new AppError('forbidden', `you are ${role} in ${tenantId}`);
      return pod;
    });
    await world.answer(querySubject('pods', 'nodeWorkspace'), (data, meta: RequestMeta) => {
      const { nodeId } = data as { nodeId: string };
      const principal = meta.principal;
      if (!principal) throw new AppError('unauthenticated', 'no principal');
      const node = NODES[nodeId];
      const hidden = new AppError('not_found', `node ${nodeId} does not exist or you have no access`);
      if (!node) throw hidden;
      if (hasPlatformAdmin(principal)) return { nodeId: node.nodeId };
      const role = node.tenantId === null ? undefined : roleOf(principal, node.tenantId);
      if (role === undefined) throw hidden;
      if (role !== 'owner')
        throw new AppError('forbidden', `only the owners of ${node.tenantId} may use node ${nodeId}`);
      return { nodeId: node.nodeId };
    });
    agent.start();
    await world.nc.flush();
    const address = await world.app.listen({ host: '127.0.0.1', port: 0 });
    return {
      ...world,
      agent,
      root,
      address,
      removed,
      async restoreIdentity() {
        await world.answer(querySubject('identity', 'authenticate'), (data) => {
          const principal = CREDENTIALS[(data as { credential: string }).credential];
          if (!principal) throw new AppError('unauthenticated', 'unknown credential');
          return principal;
        });
      },
      async close() {
        agent.stop();
        await world.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    agent.stop();
    await world.close();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

export const SESSIONS = {
  admin: 'aps_admin_session_0123456789',
  owner: 'aps_owner_session_0123456789',
  member: 'aps_member_session_012345678',
  viewer: 'aps_viewer_session_012345678',
  outsider: 'aps_outsider_session_0123456',
} as const;
export const MEMBER_TOKEN = 'apt_owner_member_token_01234';

/** Cookie headers of a signed-in browser; `csrf` adds the header a changing request needs. */
export const browser = (who: keyof typeof SESSIONS, csrf = false): Record<string, string> => ({
  cookie: `agentpod_session=${SESSIONS[who]}`,
  ...(csrf ? { 'x-agentpod-csrf': csrfTokenFor(SESSIONS[who]) } : {}),
});

export type Closed = { code: number; reason: string };

/** A terminal client over Node's WebSocket: collects output bytes per stream and the server's text messages. */
export class TerminalClient {
  readonly socket: WebSocket;
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  readonly messages: TerminalServerMessage[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string>) {
    // Node's WebSocket takes headers as an extension of the standard constructor.
    this.socket = new WebSocket(url, { headers } as unknown as string[]);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') {
        this.messages.push(JSON.parse(event.data) as TerminalServerMessage);
        return;
      }
      const bytes = Buffer.from(event.data as ArrayBuffer);
      (bytes[0] === TERMINAL_STREAM_BYTE.stderr ? this.stderr : this.stdout).push(bytes.subarray(1));
    });
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }));
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener('open', () => resolve(), { once: true });
      this.socket.addEventListener('error', () => reject(new Error('the terminal socket was refused')), { once: true });
    });
  }

  static async open(url: string, headers: Record<string, string>): Promise<TerminalClient> {
    const client = new TerminalClient(url, headers);
    await client.opened;
    return client;
  }

  send(message: object | Uint8Array | string): void {
    this.socket.send(message instanceof Uint8Array || typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends `start` and waits for `ready`; returns the session id. */
  async start(extra: Record<string, unknown> = {}): Promise<string> {
    this.send({ t: 'start', cols: 80, rows: 24, ...extra });
    await waitFor(() => this.messages.some((m) => m.t === 'ready' || m.t === 'error'), 'ready');
    const ready = this.messages.find((m) => m.t === 'ready');
    if (ready?.t !== 'ready') throw new Error(`no ready: ${JSON.stringify(this.messages)}`);
    return ready.sessionId;
  }

  output(): string {
    return Buffer.concat(this.stdout).toString('utf8');
  }

  bytesReceived(): number {
    return this.stdout.reduce((sum, chunk) => sum + chunk.length, 0);
  }
}

export async function waitFor(condition: () => boolean, what = 'a condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
