import { randomUUID } from 'node:crypto';
import { HealthReport, healthSubject } from '@agentpod/contracts';
import {
  AGENTPOD_VERSION,
  connectNats,
  createLogger,
  handler,
  parseEnv,
  serveRequests,
  startTelemetry,
} from '@agentpod/kit';
import { z } from 'zod';
import { defaultAgentSocketOptions } from './agent-socket/settings.ts';
import { buildApp } from './app.ts';
import { writeBootstrapSecret } from './bootstrap-secret.ts';
import { GatewayEnv } from './env.ts';
import { defaultWorkspaceOptions } from './workspace/settings.ts';

let config: GatewayEnv;
try {
  config = parseEnv(GatewayEnv);
} catch (error) {
  process.stderr.write(`gateway: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
const logger = createLogger('gateway', config.AGENTPOD_LOG_LEVEL);
const stopTelemetry = await startTelemetry('gateway', config.AGENTPOD_OTLP_URL);
const nc = await connectNats({ url: config.AGENTPOD_NATS_URL, name: 'agentpod-gateway', logger });
const bootstrapSecret = await writeBootstrapSecret(config.AGENTPOD_STATE_DIR);
logger.info({ directory: config.AGENTPOD_STATE_DIR }, 'bootstrap secret written (agentpod admin bootstrap reads it)');
const instanceId = randomUUID();
const app = buildApp({
  nc,
  logger,
  options: {
    publicUrl: config.AGENTPOD_PUBLIC_URL,
    trustedProxies: config.AGENTPOD_TRUSTED_PROXIES,
    bodyLimit: config.AGENTPOD_BODY_LIMIT,
    bootstrapSecret,
    agentSocket: { ...defaultAgentSocketOptions(), instanceId },
    workspace: {
      ...defaultWorkspaceOptions(),
      terminalIdleMs: config.AGENTPOD_TERMINAL_IDLE_SECONDS * 1000,
      recheckMs: config.AGENTPOD_WORKSPACE_RECHECK_MS,
      maxUploadBytes: config.AGENTPOD_FILE_MAX_UPLOAD_BYTES,
    },
    aiStreamIdleMs: config.AGENTPOD_AI_STREAM_IDLE_MS,
  },
});
await app.listen({ host: config.AGENTPOD_HOST, port: config.AGENTPOD_PORT });

const started = Date.now();
serveRequests({
  nc,
  subject: healthSubject('gateway'),
  queue: 'gateway',
  logger,
  handler: handler(z.unknown(), async () => {
    const start = performance.now();
    const nats = await nc.rtt().then(
      () => ({ ok: true, latencyMs: Math.round((performance.now() - start) * 100) / 100 }),
      (error: Error) => ({ ok: false, error: error.message }),
    );
    return HealthReport.parse({
      service: 'gateway',
      status: nats.ok ? 'ok' : 'degraded',
      version: AGENTPOD_VERSION,
      instanceId,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      dependencies: { nats },
    });
  }),
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down');
    await app.close();
    await nc.drain().catch(() => {});
    await stopTelemetry();
    process.exit(0);
  });
}
