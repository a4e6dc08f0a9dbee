import { HealthCheck, PodLabels } from '@agentpod/contracts';
import type { ObservedContainer } from '../runtime/index.ts';

/** What to probe for one container: its check, and the host port (on 127.0.0.1) that reaches the checked port. */
export type ProbeTarget = { check: HealthCheck; containerPort: number; hostPort: number };

export type TargetOf = { target: ProbeTarget } | { target: null; problem: string } | null;

/**
 * The container's health check from its `agentpod.health` label, and where to reach it: null when it has no
 * check, a `problem` when the label cannot be read or the checked port is not published (both fail every probe,
 * so the pod ends unhealthy with the reason, rather than being silently unprobed). Pure.
 *
 * The probe always goes through the published host port on 127.0.0.1, never to the container's own address:
 * that is what the pod's users reach, and a bridge address is not reachable from every agent setup.
 */
export function targetOf(container: Pick<ObservedContainer, 'labels' | 'ports'>): TargetOf {
  const label = container.labels[PodLabels.health];
  if (label === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(label);
  } catch {
    return { target: null, problem: `the ${PodLabels.health} label is not JSON` };
  }
  const parsed = HealthCheck.safeParse(json);
  if (!parsed.success)
    return { target: null, problem: `the ${PodLabels.health} label is not a health check: ${parsed.error.message}` };
  const check = parsed.data;
  const tcp = container.ports.filter((port) => port.protocol === 'tcp');
  // The pods service always names the port; a label without one (made by hand) means the first published one.
  const containerPort = check.port ?? tcp[0]?.containerPort;
  const binding = tcp.find((port) => port.containerPort === containerPort);
  if (containerPort === undefined || !binding)
    return {
      target: null,
      problem:
        containerPort === undefined
          ? 'no published TCP port to probe'
          : `container port ${containerPort}/tcp is not published`,
    };
  return { target: { check, containerPort, hostPort: binding.hostPort } };
}
