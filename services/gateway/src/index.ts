export { buildApp, type GatewayDeps } from './app.ts';
export { BOOTSTRAP_SECRET_FILE, writeBootstrapSecret } from './bootstrap-secret.ts';
export { GatewayEnv } from './env.ts';
export { BACKEND_SERVICES, type PlatformHealth, platformHealth } from './health.ts';
export type { LocalLinkNotice } from './local-links.ts';
export { type GatewayOptions, type RateLimit, resolveOptions } from './options.ts';
