import { z } from 'zod';

export const AgentEnv = z.object({
  /** The control plane's public URL; the agent dials out to it and nothing dials in. */
  AGENTPOD_GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
  /** Docker Engine socket. */
  AGENTPOD_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  AGENTPOD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds between checks of Docker and of the control plane. */
  AGENTPOD_AGENT_CHECK_INTERVAL: z.coerce.number().int().min(1).max(3_600).default(10),
});
export type AgentEnv = z.infer<typeof AgentEnv>;
