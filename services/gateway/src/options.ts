import type { Logger } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { type AgentSocketOptions, defaultAgentSocketOptions } from './agent-socket/settings.ts';
import { announceLocalLink, type LocalLinkNotice } from './local-links.ts';
import { defaultWorkspaceOptions, type WorkspaceOptions } from './workspace/settings.ts';

/** A per-client-address limit: at most `max` requests per `windowMs`. */
export type RateLimit = { max: number; windowMs: number };

export type GatewayOptions = {
  /** AGENTPOD_PUBLIC_URL: https makes cookies `__Host-` prefixed and Secure, and turns on HSTS. */
  publicUrl: string;
  /** AGENTPOD_TRUSTED_PROXIES: peers whose X-Forwarded-For names the client address. */
  trustedProxies: string[];
  bodyLimit: number;
  /** The secret written to the state directory at start; without it, bootstrap is refused. */
  bootstrapSecret?: string;
  rateLimits: { magicLink: RateLimit; redeem: RateLimit };
  /** Receives sign-in and invitation links in local mode (no SMTP); prints them on stdout by default. */
  announce: (notice: LocalLinkNotice) => void;
  /** How often a followed event stream re-checks the caller's credential and memberships. */
  followRecheckMs: number;
  /** The agents' WebSocket (`GET /agent`): re-authentication period, request timeout, bad-frame limit. */
  agentSocket: AgentSocketOptions;
  /** Terminals and file transfers (workspace/): idle timeout, access re-check period, upload limit. */
  workspace: WorkspaceOptions;
  /** AGENTPOD_AI_STREAM_IDLE_MS: an assistant's answer with no chunk for this long ends with an `error` line. */
  aiStreamIdleMs: number;
  clock: () => Date;
};

export type GatewayDeps = {
  nc: NatsConnection;
  logger: Logger;
  options?: Partial<GatewayOptions>;
};

export const defaultOptions = (): GatewayOptions => ({
  publicUrl: 'http://127.0.0.1:8080',
  trustedProxies: [],
  bodyLimit: 256 * 1024,
  rateLimits: {
    magicLink: { max: 10, windowMs: 10 * 60_000 },
    redeem: { max: 30, windowMs: 10 * 60_000 },
  },
  announce: announceLocalLink,
  followRecheckMs: 2_000,
  agentSocket: defaultAgentSocketOptions(),
  workspace: defaultWorkspaceOptions(),
  aiStreamIdleMs: 90_000,
  clock: () => new Date(),
});

export const resolveOptions = (options: Partial<GatewayOptions> = {}): GatewayOptions => ({
  ...defaultOptions(),
  ...options,
});

/** True when the gateway is reached over https: cookies get the `__Host-` prefix and Secure. */
export const isHttps = (options: GatewayOptions): boolean => new URL(options.publicUrl).protocol === 'https:';
