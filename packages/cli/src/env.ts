import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@agentpod/contracts';
import { z } from 'zod';

/*
 * The CLI's environment, read once. Everything else gets these values as parameters, so tests can run the CLI
 * against a temporary HOME and a local stand-in gateway by setting variables on the child process.
 */

const HttpUrl = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL');

const CliEnvSchema = z.object({
  /** The gateway; overrides the saved URL. */
  AGENTPOD_URL: HttpUrl.optional(),
  /** An API token; overrides the saved credential. */
  AGENTPOD_TOKEN: z.string().trim().min(1).optional(),
  /** Where the gateway keeps its local state (the bootstrap secret); `~/.agentpod` by default. */
  AGENTPOD_STATE_DIR: z.string().min(1).optional(),
  XDG_CONFIG_HOME: z.string().min(1).optional(),
});

export type CliEnv = {
  url: string | undefined;
  token: string | undefined;
  /** Directory of `bootstrap-secret`. */
  stateDir: string;
  /** `credentials.json` written by `agentpod login`. */
  credentialsFile: string;
  hostname: string;
};

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Parses the variables the CLI reads; an invalid one is named in the error. */
export function parseEnv(vars: Record<string, string | undefined>, home: string, host: string): CliEnv {
  // An empty variable means "not set", as shells commonly export VAR= to clear one.
  const present = Object.fromEntries(Object.entries(vars).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = CliEnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid', `${issue?.path.join('.') ?? 'environment'} ${issue?.message ?? 'is invalid'}`);
  }
  const env = parsed.data;
  return {
    url: env.AGENTPOD_URL,
    token: env.AGENTPOD_TOKEN,
    stateDir: env.AGENTPOD_STATE_DIR ?? join(home, '.agentpod'),
    credentialsFile: join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'agentpod', 'credentials.json'),
    hostname: host,
  };
}

/** The process's own environment: the one place the CLI reads `process.env`. */
export function loadEnv(): CliEnv {
  const { AGENTPOD_URL, AGENTPOD_TOKEN, AGENTPOD_STATE_DIR, XDG_CONFIG_HOME } = process.env;
  return parseEnv({ AGENTPOD_URL, AGENTPOD_TOKEN, AGENTPOD_STATE_DIR, XDG_CONFIG_HOME }, homedir(), hostname());
}
