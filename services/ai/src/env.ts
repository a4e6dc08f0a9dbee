import { homedir } from 'node:os';
import { join } from 'node:path';
import { AiBaseUrl, AiModel } from '@agentpod/contracts';
import { BaseEnv } from '@agentpod/kit';
import { z } from 'zod';

const SecretsKey = z
  .string()
  .refine((text) => Buffer.from(text, 'base64').length === 32, 'must be 32 bytes, base64 (openssl rand -base64 32)');

const Flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .default(fallback)
    .transform((value) => (value === '' ? fallback === 'true' : value === 'true' || value === '1'));

/**
 * The ai service's environment. The provider variables are the platform's default (a tenant's owner may override
 * them for the tenant); the secrets key is the installation's (shared with pods and monitor), which encrypts
 * tenants' API keys and conversation texts in the log.
 */
export const AiEnv = BaseEnv.extend({
  /** An OpenAI-compatible API, `/v1` included. Default: a local Ollama. */
  AGENTPOD_AI_BASE_URL: AiBaseUrl.default('http://127.0.0.1:11434/v1'),
  AGENTPOD_AI_MODEL: AiModel.default('llama3.2'),
  /** Optional: local servers ignore it (a placeholder is sent when empty). */
  AGENTPOD_AI_API_KEY: z.string().max(500).default(''),
  /** How long to wait for the first token, and then between two chunks, before giving up with a clear error. */
  AGENTPOD_AI_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  /** Characters of context (system rules, history, data, question) sent with one question. */
  AGENTPOD_AI_CONTEXT_CHARS: z.coerce.number().int().min(2_000).max(2_000_000).default(24_000),
  /** Diagnose a pod when the reconciler marks it failing. */
  AGENTPOD_AI_DIAGNOSE_FAILING: Flag('true'),
  /**
   * Let tenant owners point their assistant at private, loopback or link-local addresses. Off by default: a
   * tenant's base URL must not reach into the control plane's own network. The platform's URL is never checked.
   */
  AGENTPOD_AI_ALLOW_PRIVATE: Flag('false'),
  AGENTPOD_SECRETS_KEY: SecretsKey.optional(),
  AGENTPOD_STATE_DIR: z.string().min(1).default(join(homedir(), '.agentpod')),
});
export type AiEnv = z.infer<typeof AiEnv>;
