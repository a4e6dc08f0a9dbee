import { type AgentFrame, type GatewayFrame, type NodeFacts, newId } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { ReconnectBackoff } from './connection/backoff.ts';
import { AgentConnection, type ConnectionDeps, type DialTarget } from './connection/client.ts';
import { withProbedHealth } from './health/overlay.ts';
import { HealthProber } from './health/prober.ts';
import { type AgentMetrics, type AgentMetricsConfig, createAgentMetrics } from './metrics/agent-metrics.ts';
import { type ObservationPump, startObservationPump } from './observe/pump.ts';
import { dispatch } from './requests/dispatch.ts';
import { createLimiter } from './requests/limiter.ts';
import { LogSessions } from './requests/log-sessions.ts';
import { createOps } from './requests/ops.ts';
import { PodLanes } from './requests/pod-lanes.ts';
import { podSchedule } from './requests/schedule.ts';
import type { ContainerRuntime } from './runtime/index.ts';
import { createWorkspace, routeSession, type WorkspaceOptions } from './workspace/index.ts';

export type AgentDeps = {
  runtime: ContainerRuntime;
  facts: () => Promise<NodeFacts>;
  target: ConnectionDeps['target'];
  renew?: ConnectionDeps['renew'];
  logger: Logger;
  /** Requests run at once (default 16). */
  concurrency?: number;
  heartbeatMs?: number;
  pingMs?: number;
  settleMs?: number;
  /** Tests dial again sooner than production's 0.5 s → 30 s. */
  backoff?: ReconnectBackoff;
  /** Terminals and files (workspace/): Docker for container terminals and pod volumes, file roots, limits. */
  workspace?: WorkspaceOptions;
  /** Node and container metrics every `intervalMs` (metrics/); unset: none are sent (most tests). */
  metrics?: AgentMetricsConfig;
};

export type RunningAgent = {
  connection: AgentConnection;
  /** Closes the socket and stops observing. Leaves every container exactly as it is. */
  stop(): Promise<void>;
};

/**
 * The agent: one connection to the control plane, the observation pump feeding it, and the request server
 * answering it. Nothing here stops or removes a container on its own: restarting, disconnecting or crashing the
 * agent leaves running pods running; only an explicit request from the control plane changes a container.
 */
export function startAgent(deps: AgentDeps): RunningAgent {
  const { logger } = deps;
  const limiter = createLimiter(deps.concurrency ?? 16);
  let pump: ObservationPump | undefined;
  const send = (frame: AgentFrame, durable: boolean) => connection.send(frame, durable);
  // Health verdicts are observations like container changes: kept across a disconnection, sent in order.
  const prober = new HealthProber({
    logger,
    emit: (data) => send({ t: 'obs', id: newId(), type: 'HealthChanged', data }, true),
  });
  // Everything the agent reports about a container carries the prober's verdict.
  const runtime = withProbedHealth(deps.runtime, prober);
  // Metrics learn the containers from the same observations as the prober; they are sent only while connected.
  const metrics: AgentMetrics | undefined = deps.metrics
    ? createAgentMetrics({
        ...deps.metrics,
        logger,
        send: (frame) => connection.send(frame),
        ready: () => connection.ready,
      })
    : undefined;

  const sessions = new LogSessions({ runtime, send, writable: () => connection.writable(), logger });
  const workspace = createWorkspace({
    ...deps.workspace,
    runtime,
    send,
    writable: () => connection.writable(),
    logger,
  });
  // `session` frames: to the terminal or file transfer with that id, else to the followed logs.
  const toSession = routeSession(workspace, sessions);
  const handlers = createOps({
    runtime,
    facts: deps.facts,
    followLogs: (session) => sessions.follow(session),
    onAdopted: () => pump?.requestInventory(),
    workspace: workspace.handlers,
  });
  // At most `concurrency` operations at once, and never two on one pod (see requests/schedule.ts).
  const schedule = podSchedule({ runtime, limiter, lanes: new PodLanes() });

  const onFrame = (frame: GatewayFrame) => {
    switch (frame.t) {
      case 'req': {
        const epoch = connection.epoch;
        void dispatch(frame, handlers, logger, schedule).then((reply) =>
          connection.reply(epoch, { t: 'res', id: frame.id, reply }),
        );
        return;
      }
      case 'session':
        toSession(frame.session, frame.data);
        return;
      case 'bye':
        return; // the connection logs it; the close follows
      default: {
        const never: never = frame;
        logger.warn({ frame: never }, 'unhandled frame');
      }
    }
  };

  const connection = new AgentConnection({
    logger,
    target: deps.target,
    ...(deps.renew ? { renew: deps.renew } : {}),
    hello: async () => {
      const [facts, containers] = await Promise.all([deps.facts(), runtime.list()]);
      prober.sync(containers);
      metrics?.sync(containers);
      return { t: 'hello', facts, containers };
    },
    onFrame,
    // Observations that waited out a disconnection carry older states than the hello's inventory: follow them
    // with a fresh one so the latest word on each container is current.
    onReady: (drained) => {
      if (drained.observations > 0 || drained.overflowed) pump?.requestInventory();
      // Verdicts are sent only when they change: any that were dropped must be said again.
      if (drained.overflowed) prober.resend();
      metrics?.flush();
    },
    // Every session is bound to the socket: its logs end, its terminals are killed, its transfers dropped.
    onDown: () => {
      sessions.closeAll();
      workspace.sessions.closeAll();
    },
    ...(deps.heartbeatMs ? { heartbeatMs: deps.heartbeatMs } : {}),
    ...(deps.pingMs ? { pingMs: deps.pingMs } : {}),
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
  });

  // Observing starts before dialling, so nothing that happens between the hello's inventory and the first event
  // is missed.
  pump = startObservationPump({
    runtime,
    send,
    logger,
    onObserved: (id, container) => {
      prober.observe(id, container);
      metrics?.observe(id, container);
    },
    onInventory: (containers) => {
      prober.sync(containers);
      metrics?.sync(containers);
    },
    ...(deps.settleMs ? { settleMs: deps.settleMs } : {}),
  });
  // Probing does not wait for the control plane: verdicts reached while it is away wait in the outbox.
  void deps.runtime.list().then(
    (containers) => {
      prober.sync(containers);
      metrics?.sync(containers);
    },
    (error: unknown) => logger.warn({ err: error }, 'could not list containers to probe; will after the next change'),
  );
  connection.start();
  metrics?.start();

  return {
    connection,
    async stop() {
      prober.stop();
      await metrics?.stop();
      sessions.closeAll();
      workspace.sessions.stop();
      await pump?.stop();
      await connection.stop();
    },
  };
}

export type { DialTarget };
