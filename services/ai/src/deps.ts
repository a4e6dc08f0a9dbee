import { AggregateRepository, type EventStore, type Keyring, type ServiceRuntime } from '@agentpod/kit';
import { configAggregate, type configEvents, type TenantConfig } from './config/aggregate.ts';
import type { PlatformProvider } from './config/provider-config.ts';
import { type Conversation, conversationAggregate, type conversationEvents } from './conversation/aggregate.ts';
import type { AiDb } from './db.ts';
import { type DiagnosisSeries, diagnosisAggregate, type diagnosisEvents } from './diagnosis/aggregate.ts';
import type { AiEnv } from './env.ts';

export type AiRuntime = ServiceRuntime<AiDb, AiEnv>;

export type Repositories = {
  conversations: AggregateRepository<Conversation, typeof conversationEvents>;
  configs: AggregateRepository<TenantConfig, typeof configEvents>;
  diagnoses: AggregateRepository<DiagnosisSeries, typeof diagnosisEvents>;
};

export function createRepositories(store: EventStore): Repositories {
  return {
    conversations: new AggregateRepository(store, conversationAggregate),
    configs: new AggregateRepository(store, configAggregate),
    diagnoses: new AggregateRepository(store, diagnosisAggregate),
  };
}

/** Everything the handlers, the streams and the diagnosis reactor use, built once at start-up. */
export type AiDeps = {
  runtime: AiRuntime;
  repos: Repositories;
  keyring: Keyring;
  platform: PlatformProvider;
  /** Aborted when the service stops: every answer in flight ends. */
  shutdown: AbortSignal;
};

export const platformProvider = (config: AiEnv): PlatformProvider => ({
  baseUrl: config.AGENTPOD_AI_BASE_URL,
  model: config.AGENTPOD_AI_MODEL,
  apiKey: config.AGENTPOD_AI_API_KEY || null,
  timeoutMs: config.AGENTPOD_AI_TIMEOUT_MS,
});
