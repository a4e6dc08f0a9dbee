export { AgentEnv } from './env.ts';
export { type NodeFacts, readNodeFacts } from './node-facts.ts';
