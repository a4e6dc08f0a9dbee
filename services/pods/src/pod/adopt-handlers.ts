import {
  commandSubject,
  DiscoverContainers,
  type DiscoverContainersResult,
  PodCommands,
  type PodResult,
  querySubject,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import type { PodsDeps } from '../deps.ts';
import { adoptPod } from './adopt.ts';
import { askAgent, discoverableNodes } from './adopt-nodes.ts';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * `pods.qry.discoverContainers` (containers running without AgentPod on the nodes the caller may adopt from,
 * env names only) and `pods.cmd.adoptPod`.
 */
export function registerAdoption(deps: PodsDeps): void {
  const { runtime } = deps;
  runtime.serve(
    querySubject('pods', 'discoverContainers'),
    handler(DiscoverContainers, async ({ node }, meta): Promise<DiscoverContainersResult> => {
      const nodes = await discoverableNodes(deps, meta, node);
      const result: DiscoverContainersResult = { containers: [], unreachable: [] };
      await Promise.all(
        nodes.map(async (known) => {
          const where = { nodeId: known.id, nodeName: known.name };
          if (known.liveness.status !== 'online') {
            result.unreachable.push({ ...where, error: `node ${known.name} is ${known.liveness.status}` });
            return;
          }
          try {
            const { containers } = await askAgent(deps, meta, known.id, 'discoverContainers', {});
            result.containers.push(...containers.map((container) => ({ ...container, ...where })));
          } catch (error) {
            result.unreachable.push({ ...where, error: messageOf(error) });
          }
        }),
      );
      result.containers.sort((a, b) => a.nodeName.localeCompare(b.nodeName) || a.name.localeCompare(b.name));
      result.unreachable.sort((a, b) => a.nodeName.localeCompare(b.nodeName));
      return result;
    }),
  );
  runtime.serve(
    commandSubject('pods', 'adoptPod'),
    handler(PodCommands.adoptPod, (input, meta): Promise<PodResult<'adoptPod'>> => adoptPod(deps, input, meta)),
  );
}
