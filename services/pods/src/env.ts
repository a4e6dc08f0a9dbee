import { homedir } from 'node:os';
import { join } from 'node:path';
import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';

/** Host ports the pods service hands out, inclusive at both ends. */
export type PortRange = { low: number; high: number };

const PortRangeText = z
  .string()
  .regex(/^\d{4,5}-\d{4,5}$/, 'must be LOW-HIGH, e.g. 20000-29999')
  .transform((text): PortRange => {
    const [low = 0, high = 0] = text.split('-').map(Number);
    return { low, high };
  })
  .refine(({ low, high }) => low >= 1_024 && high <= 65_535 && low <= high, 'must lie within 1024-65535, LOW <= HIGH');

const SecretsKey = z
  .string()
  .refine((text) => Buffer.from(text, 'base64').length === 32, 'must be 32 bytes, base64 (openssl rand -base64 32)');

/**
 * The pods service's environment. The secrets key comes from AGENTPOD_SECRETS_KEY or, when unset, from
 * `${AGENTPOD_STATE_DIR}/secrets.key` (created on first start).
 */
export const PodsEnv = BaseEnv.extend({
  AGENTPOD_PORT_RANGE: PortRangeText.default({ low: 20_000, high: 29_999 }),
  /** Placed pods' memory limits may add up to node memory × this. */
  AGENTPOD_MEMORY_OVERCOMMIT: z.coerce.number().min(0.1).max(100).default(1),
  AGENTPOD_SECRETS_KEY: SecretsKey.optional(),
  AGENTPOD_STATE_DIR: z.string().min(1).default(join(homedir(), '.agentpod')),
  /** Where agents reach the gateway: the install command printed for a new node is built from it. */
  AGENTPOD_PUBLIC_URL: z.url().default('http://127.0.0.1:8080'),
});
export type PodsEnv = z.infer<typeof PodsEnv>;
