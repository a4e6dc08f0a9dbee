export { type AgentDeps, type RunningAgent, startAgent } from './agent.ts';
export { RECONNECT_BACKOFF, ReconnectBackoff } from './connection/backoff.ts';
export { AgentConnection, type ConnectionDeps, type DialTarget } from './connection/client.ts';
export { agentSocketUrl } from './connection/frames.ts';
export { readCredential, type StoredCredential, saveCredential } from './credential/store.ts';
export { AgentEnv, defaultAgentStateDir } from './env.ts';
export { type MeteredContainer, MetricsCollector } from './metrics/collector.ts';
export { readNodeFacts } from './node-facts.ts';
export { AGENT_VERSION } from './version.ts';
