import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BaseEnv, MailEnv } from '@agentpod/kit';
import { z } from 'zod';

/** One IP address or CIDR block (`10.0.0.0/8`, `::1`, `fd00::/8`). */
export function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^[0-9]{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const TrustedProxies = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .refine((list) => list.every(isIpOrCidr), 'must be a comma-separated list of IP addresses or CIDR blocks');

export const GatewayEnv = BaseEnv.extend({
  /** Port of the REST API, the console and the WebSockets. */
  AGENTPOD_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  /** Address to listen on; 127.0.0.1 unless a reverse proxy on another host fronts the gateway. */
  AGENTPOD_HOST: z.string().min(1).default('127.0.0.1'),
  /** The URL people reach the gateway at: decides cookie names (`__Host-` + Secure over https) and the CSP. */
  AGENTPOD_PUBLIC_URL: MailEnv.shape.AGENTPOD_PUBLIC_URL,
  /**
   * Reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs). Empty: the client address is
   * the TCP peer, whatever the headers say, so nobody can dodge a per-address rate limit by sending the header.
   */
  AGENTPOD_TRUSTED_PROXIES: TrustedProxies,
  /** Where the gateway keeps local state: the bootstrap secret (`bootstrap-secret`, mode 0600). */
  AGENTPOD_STATE_DIR: z.string().min(1).default(join(homedir(), '.agentpod')),
  /**
   * Largest request body the API accepts, in bytes (API bodies are small JSON documents). At most 960 KiB: the body
   * travels on to a service inside a NATS request, whose limit is 1 MiB with the request's meta.
   */
  AGENTPOD_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(960 * 1024)
    .default(256 * 1024),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
