import { addReactor, loadKeyring, type ServiceDefinition, tenantMembershipProjection } from '@agentpod/kit';
import { aiProjection } from './conversation/projection.ts';
import type { AiDb } from './db.ts';
import { type AiDeps, createRepositories, platformProvider } from './deps.ts';
import { diagnosisReactor } from './diagnosis/reactor.ts';
import { AiEnv } from './env.ts';
import { registerHandlers } from './handlers.ts';
import { migrations } from './migrations.ts';

export { SYSTEM_PROMPT } from './context/prompt.ts';
export type { AiDb } from './db.ts';
export { AiEnv } from './env.ts';

/**
 * The ai service: assistant conversations (streamed answers about a pod or node, with its context and secrets
 * removed), diagnoses (asked for, and automatic when a pod turns failing), spec generation and usage accounting,
 * against any OpenAI-compatible provider. It owns the PostgreSQL schema `ai`, appends to `AI`, and reads `TENANTS`
 * (its own copy of memberships), `RECONCILER` (failing pods) and `PODS` (a pod's events). See README.md.
 */
export const aiService: ServiceDefinition<AiDb, typeof AiEnv> = {
  name: 'ai',
  streams: ['ai', 'tenants', 'pods', 'reconciler'],
  database: { schema: 'ai', migrations },
  projections: [aiProjection, tenantMembershipProjection<AiDb>()],
  env: AiEnv,
  async register(runtime) {
    const { config, logger } = runtime;
    const keyring = await loadKeyring({
      ...(config.AGENTPOD_SECRETS_KEY ? { key: config.AGENTPOD_SECRETS_KEY } : {}),
      stateDir: config.AGENTPOD_STATE_DIR,
      logger,
    });
    const shutdown = new AbortController();
    const deps: AiDeps = {
      runtime,
      repos: createRepositories(runtime.store),
      keyring,
      platform: platformProvider(config),
      shutdown: shutdown.signal,
    };
    const asker = registerHandlers(deps);
    if (config.AGENTPOD_AI_DIAGNOSE_FAILING) {
      // One failing pod at a time reaches the reactor's batch: a diagnosis takes seconds.
      addReactor(runtime, diagnosisReactor(deps), { batchSize: 16 });
    }
    runtime.onStop(async () => {
      // Answers in flight end (stored as stopped, their streams told) before NATS drains.
      shutdown.abort();
      await asker.drain();
    });
  },
};
