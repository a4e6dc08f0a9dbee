import { randomBytes } from 'node:crypto';
import {
  type AiStreamChunk,
  type AlertView,
  AppError,
  aiStreamSubjects,
  commandSubject,
  type LogLine,
  type NodeView,
  type PodView,
  type Principal,
  querySubject,
  type RequestMeta,
  roleAtLeast,
  type Series,
  type TenantRole,
} from '@agentpod/contracts';
import { handler, type RunningService, serveRequests } from '@agentpod/kit';
import { type FakeLlm, person, type ServiceStack, startFakeLlm, startServiceStack } from '@agentpod/kit/testing';
import type { Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import type { AiDb } from '../db.ts';
import type { AiEnv } from '../env.ts';
import { aiService } from '../index.ts';

export { eventually, person } from '@agentpod/kit/testing';

/*
 * The ai service on a private nats-server and a fresh database, against the fake provider. The services it asks
 * are stand-ins served here with kit handlers (the e2e uses the real ones): pods (`getPod`, `logTarget`,
 * `podSecrets`, `podToken`, `getNode`, with the same access answers as the pods service), the node's agent
 * (`agent.<node>.cmd.>`: every operation it receives is recorded) and, when wanted, the monitor (`listAlerts`,
 * `podSeries`). Memberships are appended to TENANTS as the tenants service would.
 */

export const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';

/** A pod the stand-in pods service knows, with what its agent answers for logs. */
export type StandInPod = { view: PodView; secrets: Record<string, string>; accessToken: string; logs: LogLine[] };

export function podView(tenantId: string, podId: string, extra: Partial<PodView> = {}): PodView {
  const at = new Date().toISOString();
  return {
    tenantId,
    podId,
    nodeId: NODE,
    nodeName: 'node-one',
    generation: 1,
    desired: 'running',
    status: 'running',
    message: null,
    health: 'healthy',
    image: 'nginx:1.27',
    ports: [],
    restarts: 0,
    containerId: `ctr_${tenantId}_${podId}`,
    spec: {
      image: 'nginx:1.27',
      env: { MODE: 'production' },
      secretNames: [],
      ports: [],
      limits: { memoryBytes: 256 * 1024 * 1024, cpus: 0.5, pids: 256 },
      restart: 'always',
    },
    createdAt: at,
    startedAt: at,
    updatedAt: at,
    ...extra,
  };
}

export type Collected = { chunks: AiStreamChunk[]; text: string; end: AiStreamChunk };

export type Stack = Omit<ServiceStack<AiDb, AiEnv>, 'service'> & {
  llm: FakeLlm;
  ai: RunningService<AiDb, AiEnv>;
  pods: Map<string, StandInPod>;
  nodes: Map<string, NodeView>;
  /** Every agent operation the ai service sent, as `<op>` with its input. */
  agentOps: { op: string; input: unknown; actor: string }[];
  /** Every subject published under `agent.>` while the stack ran (requests included). */
  agentSubjects: string[];
  /** Alerts and a series the stand-in monitor answers; no monitor at all when `monitor: false`. */
  monitor: { alerts: AlertView[]; series: Series | null };
  /**
   * Sends `ai.cmd.<command>` with a fresh stream id, listening first (as the gateway does); resolves with the
   * command's answer and a promise of everything streamed until `done` or `error`.
   */
  stream<T = { conversationId: string; messageId: string }>(
    command: 'ask' | 'diagnose',
    data: Record<string, unknown>,
    as: Principal,
  ): Promise<{ answer: T; streamId: string; collected: Promise<Collected> }>;
};

export async function startStack(options: { env?: Record<string, string>; monitor?: boolean } = {}): Promise<Stack> {
  // The provider runs before the service (its url is in the environment) and stops after it.
  const llm = await startFakeLlm();
  let stack: ServiceStack<AiDb, AiEnv>;
  try {
    stack = await startServiceStack(aiService, {
      env: {
        AGENTPOD_AI_BASE_URL: llm.url,
        AGENTPOD_AI_MODEL: 'fake-model',
        AGENTPOD_AI_TIMEOUT_MS: '2000',
        ...options.env,
      },
      timeoutMs: 30_000,
    });
  } catch (error) {
    await llm.close().catch(() => {});
    throw error;
  }
  const { service: ai, call, ...rest } = stack;
  const stop = async () => {
    await stack.stop();
    await llm.close().catch(() => {});
  };
  try {
    const { runtime } = ai;
    const { nc } = runtime;
    const logger = runtime.logger;
    const members = new Map<string, Map<string, TenantRole>>();
    const pods = new Map<string, StandInPod>();
    const nodes = new Map<string, NodeView>();
    const agentOps: Stack['agentOps'] = [];
    const agentSubjects: string[] = [];
    const monitor: Stack['monitor'] = { alerts: [], series: null };
    const subscriptions: Subscription[] = [];
    stack.cleanups.add(async () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
    });

    // The pods service's access answers: no access → not_found, a service passes (podSecrets: the ai service only).
    const isSystem = (meta: RequestMeta) => meta.actor.kind === 'system' && meta.principal === undefined;
    const requireRole = (meta: RequestMeta, tenantId: string, required: TenantRole) => {
      if (isSystem(meta)) return;
      const principal = meta.principal;
      if (!principal) throw new AppError('unauthenticated', 'no caller');
      const role = principal.platformAdmin ? 'owner' : members.get(tenantId)?.get(principal.userId);
      if (!role) throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
      if (!roleAtLeast(role, required)) throw new AppError('forbidden', `needs ${required}`);
    };
    const podOf = (tenantId: string, podId: string) => {
      const pod = pods.get(`${tenantId}/${podId}`);
      if (!pod) throw new AppError('not_found', `no pod ${tenantId}/${podId}`);
      return pod;
    };
    const key = z.object({ tenantId: z.string(), podId: z.string() });
    const serve = <I, O>(subject: string, input: z.ZodType<I>, handle: (i: I, m: RequestMeta) => Promise<O>) =>
      subscriptions.push(serveRequests({ nc, subject, queue: 'stand-in', handler: handler(input, handle), logger }));
    serve(querySubject('pods', 'getPod'), key, async ({ tenantId, podId }, meta) => {
      requireRole(meta, tenantId, 'viewer');
      return podOf(tenantId, podId).view;
    });
    serve(querySubject('pods', 'logTarget'), key, async ({ tenantId, podId }, meta) => {
      requireRole(meta, tenantId, 'viewer');
      const { view } = podOf(tenantId, podId);
      return { nodeId: view.nodeId, containerId: view.containerId ?? 'none' };
    });
    serve(querySubject('pods', 'podSecrets'), key, async ({ tenantId, podId }, meta) => {
      if (isSystem(meta) && meta.actor.id !== 'ai') throw new AppError('forbidden', 'only the ai service');
      requireRole(meta, tenantId, 'admin');
      return { secrets: podOf(tenantId, podId).secrets };
    });
    serve(querySubject('pods', 'podToken'), key, async ({ tenantId, podId }, meta) => {
      requireRole(meta, tenantId, 'admin');
      return { accessToken: podOf(tenantId, podId).accessToken };
    });
    serve(querySubject('pods', 'getNode'), z.object({ node: z.string() }), async ({ node }, meta) => {
      const view = nodes.get(node);
      if (!view) throw new AppError('not_found', `no node ${node}`);
      if (view.tenantId) requireRole(meta, view.tenantId, 'viewer');
      else if (!isSystem(meta) && !meta.principal?.platformAdmin) throw new AppError('not_found', `no node ${node}`);
      return view;
    });
    // The node's agent: records every operation; answers `logs` with the pod's lines.
    const agent = nc.subscribe(`agent.${NODE}.cmd.>`, { queue: 'stand-in' });
    subscriptions.push(agent);
    void (async () => {
      for await (const msg of agent) {
        const op = msg.subject.split('.').at(-1) ?? '';
        const body = msg.json<{ meta: RequestMeta; data: { containerId?: string; tail?: number } }>();
        agentOps.push({ op, input: body.data, actor: body.meta.actor.id });
        if (op !== 'logs') {
          msg.respond(JSON.stringify({ ok: false, error: { code: 'invalid', message: `unknown op ${op}` } }));
          continue;
        }
        const pod = [...pods.values()].find((p) => p.view.containerId === body.data.containerId);
        const lines = (pod?.logs ?? []).slice(-(body.data.tail ?? 100));
        msg.respond(JSON.stringify({ ok: true, result: { lines } }));
      }
    })();
    const sniff = nc.subscribe('agent.>');
    subscriptions.push(sniff);
    void (async () => {
      for await (const msg of sniff) agentSubjects.push(msg.subject);
    })();
    if (options.monitor !== false) {
      serve(querySubject('monitor', 'listAlerts'), z.record(z.string(), z.unknown()), async () => ({
        alerts: monitor.alerts,
      }));
      serve(querySubject('monitor', 'podSeries'), z.record(z.string(), z.unknown()), async () => {
        if (!monitor.series) throw new AppError('not_found', 'no samples');
        return monitor.series;
      });
    }

    const collect = (streamId: string): { ready: Promise<void>; done: Promise<Collected> } => {
      const subscription = nc.subscribe(aiStreamSubjects.chunks(streamId));
      const chunks: AiStreamChunk[] = [];
      const done = (async () => {
        const timer = setTimeout(() => subscription.unsubscribe(), 60_000);
        try {
          for await (const msg of subscription) {
            const chunk = msg.json<AiStreamChunk>();
            chunks.push(chunk);
            if (chunk.t === 'done' || chunk.t === 'error') break;
          }
        } finally {
          clearTimeout(timer);
          subscription.unsubscribe();
        }
        const end = chunks.at(-1);
        if (!end || end.t === 'delta') throw new Error(`stream ${streamId} ended without done or error`);
        const text = chunks.map((c) => (c.t === 'delta' ? c.text : '')).join('');
        return { chunks, text, end };
      })();
      return { ready: nc.flush(), done };
    };

    return {
      ...rest,
      call,
      llm,
      ai,
      pods,
      nodes,
      agentOps,
      agentSubjects,
      monitor,
      async tenant(tenantId, roles) {
        await stack.tenant(tenantId, roles);
        // The stand-in pods service answers from the same memberships.
        members.set(tenantId, new Map(Object.entries(roles).map(([name, role]) => [person(name).userId, role])));
      },
      async stream(command, data, as) {
        const streamId = randomBytes(16).toString('base64url');
        const { ready, done } = collect(streamId);
        await ready;
        try {
          const answer = await call(commandSubject('ai', command), { ...data, streamId }, as);
          return { answer: answer as never, streamId, collected: done };
        } catch (error) {
          done.catch(() => {});
          throw error;
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
