import type { Logger } from '@agentpod/kit';
import type { ObservedContainer } from '../runtime/types.ts';
import type { MetricsFrame } from './backlog.ts';
import { type CollectorDeps, type MeteredContainer, MetricsCollector } from './collector.ts';
import { MetricsSampler } from './sampler.ts';

/** What the agent is configured with (`metrics` of AgentDeps). */
export type AgentMetricsConfig = {
  /** AGENTPOD_METRICS_INTERVAL_SECONDS × 1000. */
  intervalMs: number;
  dockerStats?: CollectorDeps['dockerStats'];
  /** Tests read fixture files instead of the host's. */
  host?: CollectorDeps['host'];
};

export type AgentMetricsOptions = AgentMetricsConfig & {
  logger: Logger;
  send: (frame: MetricsFrame) => void;
  ready: () => boolean;
};

export type AgentMetrics = {
  /** One container as inspected after an engine event; null: destroyed. */
  observe(containerId: string, container: ObservedContainer | null): void;
  /** A whole inventory (hello, InventoryReported): replaces what was known. */
  sync(containers: readonly ObservedContainer[]): void;
  /** The connection is ready again: send what waited. */
  flush(): void;
  start(): void;
  stop(): Promise<void>;
};

/**
 * The agent's metrics: the containers it knows from its own observations (no extra Docker call per round), a
 * collector, and the sampler that sends its rounds.
 */
export function createAgentMetrics(options: AgentMetricsOptions): AgentMetrics {
  const containers = new Map<string, MeteredContainer>();
  const metered = (c: ObservedContainer): MeteredContainer => ({
    id: c.id,
    tenantId: c.tenantId,
    podId: c.podId,
    pid: c.pid,
    state: c.state,
    restartCount: c.restartCount,
  });
  const collector = new MetricsCollector({
    logger: options.logger,
    ...(options.dockerStats ? { dockerStats: options.dockerStats } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  const sampler = new MetricsSampler({
    collect: () => collector.collect([...containers.values()]),
    send: options.send,
    ready: options.ready,
    intervalMs: options.intervalMs,
    logger: options.logger,
  });
  return {
    observe(containerId, container) {
      if (container) containers.set(container.id, metered(container));
      else containers.delete(containerId);
    },
    sync(list) {
      containers.clear();
      for (const container of list) containers.set(container.id, metered(container));
    },
    flush: () => sampler.flush(),
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}
