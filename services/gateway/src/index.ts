export { buildApp, type GatewayDeps } from './app.ts';
export { GatewayEnv } from './env.ts';
export { BACKEND_SERVICES, type PlatformHealth, platformHealth } from './health.ts';
