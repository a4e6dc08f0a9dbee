import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { z } from 'zod';
import { BaseEnv, parseEnv } from '../config.ts';
import { connectNats, connectPostgres } from '../connections.ts';
import { createLogger } from '../logger.ts';
import { Projector } from '../projector.ts';
import { type AppliedDB, recordingProjection } from './projection-fixtures.ts';

/*
 * A process that runs the recording projection, stalling inside the transaction of the batch that holds
 * FIXTURE_STALL_AT_SEQ: the crash test of projection.int.test.ts SIGKILLs it there, in the middle of a batch.
 * The schema must already be migrated (with appliedMigrations). Configured by the environment, like a service.
 */

const env = parseEnv(
  BaseEnv.extend({
    FIXTURE_SCHEMA: z.string(),
    FIXTURE_APP_NAME: z.string(),
    FIXTURE_BATCH_SIZE: z.coerce.number().int().positive(),
    FIXTURE_STALL_AT_SEQ: z.coerce.number().int().positive(),
    FIXTURE_STALL_MS: z.coerce.number().int().positive(),
  }),
);
const logger = createLogger('pods', env.AGENTPOD_LOG_LEVEL);
const nc = await connectNats({ url: env.AGENTPOD_NATS_URL, name: env.FIXTURE_APP_NAME, logger, attempts: 5 });
const { sql, db } = await connectPostgres<AppliedDB>({
  url: env.AGENTPOD_DATABASE_URL,
  logger,
  schema: env.FIXTURE_SCHEMA,
  name: env.FIXTURE_APP_NAME,
  attempts: 5,
});
const projector = new Projector<AppliedDB>({
  service: 'pods',
  schema: env.FIXTURE_SCHEMA,
  projection: recordingProjection({ stallAtSeq: env.FIXTURE_STALL_AT_SEQ, stallMs: env.FIXTURE_STALL_MS }),
  db,
  sql,
  js: jetstream(nc),
  jsm: await jetstreamManager(nc),
  logger,
  batchSize: env.FIXTURE_BATCH_SIZE,
  leaderPollMs: 100,
});
projector.start();
// Runs until killed: the NATS connection keeps the process alive.
