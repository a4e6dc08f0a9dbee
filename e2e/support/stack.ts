import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type GatewayOptions, type LocalLinkNotice, writeBootstrapSecret } from '@agentpod/gateway';
import { createLogger, type RunningService, runService, type ServiceDefinition } from '@agentpod/kit';
import {
  createTestDatabase,
  freePort,
  type SmtpSink,
  startNatsServer,
  startSmtpSink,
  type TestDatabase,
  type TestNatsServer,
} from '@agentpod/kit/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';

/*
 * The control plane as the e2e tests run it: a private nats-server, a fresh database, the real backend services
 * (in this process, through runService) and the real gateway (buildApp, as main.ts builds it), optionally
 * listening on a real 127.0.0.1 port and with a real SMTP peer for the services' mail. Everything started is
 * stopped by `stop()`, in reverse order, even when start-up failed half way.
 */

export type StackOptions = {
  /**
   * The backend services to run, each with its own schema on the one test database. Each definition has its own
   * database and environment types, which one array cannot keep; runService checks them at start.
   */
  services: readonly Pick<ServiceDefinition<unknown>, 'name'>[];
  /** Start an SMTP sink and give its URL to the services (AGENTPOD_SMTP_URL); otherwise local mode. */
  smtp?: boolean;
  /** Listen on a free 127.0.0.1 port; that address is then the public URL of the gateway and the services. */
  listen?: boolean;
  /** Gateway options; `announce` defaults to collecting the notices in `Stack.notices`. */
  gateway?: Partial<GatewayOptions>;
  /** More environment for the services (AGENTPOD_RECONCILE_INTERVAL_MS, AGENTPOD_PORT_RANGE…). */
  env?: Record<string, string>;
};

export type Stack = {
  nats: TestNatsServer;
  database: TestDatabase;
  /** The gateway's NATS connection. */
  nc: NatsConnection;
  app: FastifyInstance;
  /** Where the gateway listens (only with `listen`); links in emails start with it. */
  url: string | undefined;
  /**
   * The gateway's and the services' AGENTPOD_STATE_DIR, holding `bootstrap-secret` as main.ts writes it; a
   * temporary directory, so nothing is written to the home directory of whoever runs the tests.
   */
  stateDir: string;
  /** The secret the gateway requires for bootstrap. */
  bootstrapSecret: string;
  /** The SMTP sink (only with `smtp`). */
  smtp: SmtpSink | undefined;
  /** Links the gateway would have printed in local mode. */
  notices: LocalLinkNotice[];
  services: RunningService<unknown, unknown>[];
  stop(): Promise<void>;
};

/** Undo steps run newest first; a failing step does not stop the others. */
export class Cleanup {
  readonly #steps: (() => Promise<unknown> | unknown)[] = [];
  add(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Cleaning up what is left matters more than why one piece would not stop.
      }
    }
  }
}

/** A temporary directory, removed by `cleanup`. */
export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `agentpod-${prefix}-`));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanup = new Cleanup();
  try {
    const nats = await startNatsServer();
    cleanup.add(() => nats.stop());
    const database = await createTestDatabase();
    cleanup.add(() => database.drop());
    const smtp = options.smtp ? await startSmtpSink() : undefined;
    if (smtp) cleanup.add(() => smtp.stop());
    const port = options.listen ? await freePort() : undefined;
    const url = port === undefined ? undefined : `http://127.0.0.1:${port}`;

    const stateDir = join(await tempDir(cleanup, 'gateway'), 'state');

    const env: NodeJS.ProcessEnv = {
      AGENTPOD_NATS_URL: nats.url,
      AGENTPOD_DATABASE_URL: database.url,
      AGENTPOD_LOG_LEVEL: 'silent',
      // The pods service would otherwise create ~/.agentpod/secrets.key: a key of this run only, and a state
      // directory of its own for anything else it keeps.
      AGENTPOD_STATE_DIR: stateDir,
      AGENTPOD_SECRETS_KEY: randomBytes(32).toString('base64'),
      ...(url ? { AGENTPOD_PUBLIC_URL: url } : {}),
      ...(smtp ? { AGENTPOD_SMTP_URL: smtp.url } : {}),
      ...options.env,
    };
    // Started together; every one that did start is stopped, even if another failed.
    const started = await Promise.allSettled(
      options.services.map((definition) => runService(definition as never, { env })),
    );
    const services: RunningService<unknown, unknown>[] = [];
    for (const result of started) {
      if (result.status === 'fulfilled') {
        services.push(result.value);
        cleanup.add(() => result.value.stop());
      }
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    const nc = await connect({ servers: nats.url });
    cleanup.add(() => nc.close());
    const notices: LocalLinkNotice[] = [];
    const gatewayOptions: Partial<GatewayOptions> = {
      ...(url ? { publicUrl: url } : {}),
      bootstrapSecret: await writeBootstrapSecret(stateDir),
      announce: (notice) => notices.push(notice),
      ...options.gateway,
    };
    const app = buildApp({ nc, logger: createLogger('gateway', 'silent'), options: gatewayOptions });
    cleanup.add(() => app.close());
    if (port !== undefined) await app.listen({ host: '127.0.0.1', port });
    else await app.ready();

    return {
      nats,
      database,
      nc,
      app,
      url,
      stateDir,
      bootstrapSecret: gatewayOptions.bootstrapSecret ?? '',
      smtp,
      notices,
      services,
      stop: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
