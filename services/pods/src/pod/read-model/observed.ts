import type { ContainerState } from '@agentpod/contracts';

/** What the read model keeps of a container's history: how often it ran again after its process ended. */
export type ObservedHistory = { restarts: number; died: boolean };

/**
 * Folds one observation of a container's state into its history, pure. Counted from states rather than from
 * event actions, so a restart that happened while the agent was away still counts when the next inventory shows
 * the container running again after it was last seen exited.
 */
export function observe(previous: ObservedHistory | undefined, state: ContainerState): ObservedHistory {
  const history = previous ?? { restarts: 0, died: false };
  if (state === 'exited' || state === 'dead') return { restarts: history.restarts, died: true };
  if (state === 'running' && history.died) return { restarts: history.restarts + 1, died: false };
  return history;
}
