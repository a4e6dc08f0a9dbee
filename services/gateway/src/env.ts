import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';

export const GatewayEnv = BaseEnv.extend({
  /** Port of the REST API, the console and the WebSockets. */
  AGENTPOD_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  /** Address to listen on; 127.0.0.1 unless a reverse proxy on another host fronts the gateway. */
  AGENTPOD_HOST: z.string().min(1).default('127.0.0.1'),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
