import type { ServiceDefinition } from '@agentpod/kit';
import { loadKeyring } from '@agentpod/kit';
import { membershipProjection } from './access/membership-projection.ts';
import type { PodsDb } from './db.ts';
import { createRepositories, type PodsDeps } from './deps.ts';
import { PodsEnv } from './env.ts';
import { Lanes } from './lanes.ts';
import { migrations } from './migrations.ts';
import { registerNodeHandlers } from './node/handlers.ts';
import { Heartbeats, watchHeartbeats } from './node/liveness.ts';
import { nodeAgentsProjection } from './node/read-model/agent-projection.ts';
import { nodesProjection } from './node/read-model/projection.ts';
import { registerPodCommands } from './pod/handlers.ts';
import { registerPodQueries } from './pod/query-handlers.ts';
import { podActionsProjection } from './pod/read-model/actions-projection.ts';
import { containersProjection } from './pod/read-model/containers-projection.ts';
import { podsProjection } from './pod/read-model/projection.ts';
import { withRollouts } from './rollout/deps.ts';
import { registerRolloutHandlers } from './rollout/handlers.ts';
import { rolloutsProjection } from './rollout/read-model/projection.ts';
import { startRolloutRunner } from './rollout/runner.ts';

export type { PodsDb } from './db.ts';
export { PodsEnv } from './env.ts';

/**
 * The pods service: the node registry (placement, host ports, capacity) and pods (spec, secrets encrypted at
 * rest, access tokens, desired state). It owns the PostgreSQL schema `pods`, appends to `PODS`, and reads `AGENT`
 * (node facts, observed containers), `RECONCILER` (action outcomes) and `TENANTS` (its own copy of memberships).
 * It also carries out rolling upgrades (rollout/), so one goes on when the client that started it is gone.
 */
export const podsService: ServiceDefinition<PodsDb, typeof PodsEnv> = {
  name: 'pods',
  streams: ['pods', 'agent', 'reconciler', 'tenants'],
  database: { schema: 'pods', migrations },
  projections: [
    nodesProjection,
    podsProjection,
    nodeAgentsProjection,
    containersProjection,
    podActionsProjection,
    membershipProjection,
    rolloutsProjection,
  ],
  env: PodsEnv,
  async register(runtime) {
    const keyring = await loadKeyring({
      ...(runtime.config.AGENTPOD_SECRETS_KEY ? { key: runtime.config.AGENTPOD_SECRETS_KEY } : {}),
      stateDir: runtime.config.AGENTPOD_STATE_DIR,
      logger: runtime.logger,
    });
    const heartbeats = new Heartbeats();
    const subscription = watchHeartbeats({ nc: runtime.nc, heartbeats, clock: runtime.clock, logger: runtime.logger });
    runtime.onStop(() => subscription.unsubscribe());
    const deps: PodsDeps = {
      runtime,
      repos: createRepositories(runtime.store),
      keyring,
      heartbeats,
      lanes: new Lanes(),
    };
    registerNodeHandlers(deps);
    registerPodCommands(deps);
    registerPodQueries(deps);
    const rollouts = withRollouts(deps);
    registerRolloutHandlers(rollouts);
    // Runs until the service stops; one replica leads, the others take over when it goes.
    const runner = startRolloutRunner(rollouts);
    runtime.onStop(() => runner.stop());
  },
};
