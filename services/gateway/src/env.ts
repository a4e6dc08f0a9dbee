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
  /** A terminal with neither input nor output this long is closed. */
  AGENTPOD_TERMINAL_IDLE_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .default(1800),
  /** How often an open terminal checks again that its caller is signed in and still has access (ms). */
  AGENTPOD_WORKSPACE_RECHECK_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** The largest file upload the gateway relays to an agent, in bytes (default 1 GiB). */
  AGENTPOD_FILE_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 50)
    .default(1024 ** 3),
  /**
   * An assistant's streamed answer that brings no chunk for this long ends with an error line (ms). The ai service
   * gives up on a silent provider sooner (AGENTPOD_AI_TIMEOUT_MS); this covers an ai service that went away.
   */
  AGENTPOD_AI_STREAM_IDLE_MS: z.coerce.number().int().min(100).max(3_600_000).default(90_000),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
