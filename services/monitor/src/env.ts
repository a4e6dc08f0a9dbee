import { homedir } from 'node:os';
import { join } from 'node:path';
import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';
import { AlertEnv } from './rules/env.ts';

const SecretsKey = z
  .string()
  .refine((text) => Buffer.from(text, 'base64').length === 32, 'must be 32 bytes, base64 (openssl rand -base64 32)');

const Flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1');

/**
 * The monitor's environment. The secrets key is the installation's one, shared with the pods service:
 * AGENTPOD_SECRETS_KEY or, when unset, `${AGENTPOD_STATE_DIR}/secrets.key` (created by whichever starts first).
 */
export const MonitorEnv = BaseEnv.extend({
  ...AlertEnv.shape,
  AGENTPOD_SECRETS_KEY: SecretsKey.optional(),
  AGENTPOD_STATE_DIR: z.string().min(1).default(join(homedir(), '.agentpod')),
  /**
   * Let webhooks post to private, loopback and link-local addresses (10/8, 192.168/16, 127/8, 169.254/16, fc00::/7,
   * …). Off by default: a tenant's webhook must not reach into the control plane's own network.
   */
  AGENTPOD_WEBHOOK_ALLOW_PRIVATE: Flag,
  /** Delay before the 2nd attempt of a delivery; it doubles for each further one (1 s, 2 s, 4 s…). */
  AGENTPOD_WEBHOOK_BACKOFF_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
  /** The longest wait between two attempts. */
  AGENTPOD_WEBHOOK_BACKOFF_CAP_MS: z.coerce.number().int().min(1).max(86_400_000).default(3_600_000),
  /** Attempts before a delivery is given up as `failed`. */
  AGENTPOD_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** How long one POST may take, connection included. */
  AGENTPOD_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** How often the sender looks for due deliveries when nothing wakes it earlier. */
  AGENTPOD_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
});
export type MonitorEnv = z.infer<typeof MonitorEnv>;
