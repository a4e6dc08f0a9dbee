import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { BaseEnv, ConfigError, parseEnv } from './config.ts';

/** Runs `fn`, which must throw a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('parseEnv', () => {
  test('an empty environment gets the defaults', () => {
    assert.deepEqual(parseEnv(BaseEnv, {}), {
      AGENTPOD_NATS_URL: 'nats://127.0.0.1:4222',
      AGENTPOD_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/agentpod',
      AGENTPOD_DATABASE_POOL: 4,
      AGENTPOD_LOG_LEVEL: 'info',
    });
  });

  test('given values win over defaults, and unrelated variables are ignored', () => {
    const env = parseEnv(BaseEnv, {
      AGENTPOD_NATS_URL: 'tls://nats.internal:4222',
      AGENTPOD_DATABASE_URL: 'postgresql://app:secret@db:5432/agentpod',
      AGENTPOD_DATABASE_POOL: '2',
      AGENTPOD_LOG_LEVEL: 'debug',
      AGENTPOD_OTLP_URL: 'http://127.0.0.1:4318/v1/traces',
      HOME: '/root',
    });
    assert.equal(env.AGENTPOD_DATABASE_POOL, 2);
    assert.equal(env.AGENTPOD_NATS_URL, 'tls://nats.internal:4222');
    assert.equal(env.AGENTPOD_DATABASE_URL, 'postgresql://app:secret@db:5432/agentpod');
    assert.equal(env.AGENTPOD_LOG_LEVEL, 'debug');
    assert.equal(env.AGENTPOD_OTLP_URL, 'http://127.0.0.1:4318/v1/traces');
    assert.equal('HOME' in env, false);
  });

  test('names each bad variable and says why', () => {
    const error = configError(() =>
      parseEnv(BaseEnv, {
        AGENTPOD_NATS_URL: 'http://127.0.0.1:4222',
        AGENTPOD_DATABASE_URL: 'not a url',
        AGENTPOD_DATABASE_POOL: '0',
        AGENTPOD_LOG_LEVEL: 'loud',
        AGENTPOD_OTLP_URL: 'ftp://collector',
      }),
    );
    assert.deepEqual(error.variables.sort(), [
      'AGENTPOD_DATABASE_POOL',
      'AGENTPOD_DATABASE_URL',
      'AGENTPOD_LOG_LEVEL',
      'AGENTPOD_NATS_URL',
      'AGENTPOD_OTLP_URL',
    ]);
    assert.equal(error.name, 'ConfigError');
    assert.match(error.message, /^invalid configuration: /);
    assert.match(error.message, /AGENTPOD_NATS_URL: must be a URL starting with nats: or tls: or ws: or wss:\/\//);
    assert.match(error.message, /AGENTPOD_DATABASE_URL: must be a URL starting with postgres: or postgresql:\/\//);
    assert.match(error.message, /AGENTPOD_LOG_LEVEL: /);
    assert.match(error.message, /AGENTPOD_OTLP_URL: must be a URL starting with http: or https:\/\//);
  });

  test('one bad variable among good ones is the only one named', () => {
    const error = configError(() => parseEnv(BaseEnv, { AGENTPOD_LOG_LEVEL: 'verbose' }));
    assert.deepEqual(error.variables, ['AGENTPOD_LOG_LEVEL']);
  });

  test("a service's own variables: required ones are named when missing, coerced ones when malformed", () => {
    const ServiceEnv = BaseEnv.extend({
      AGENTPOD_SECRET_KEY: z.string().min(32),
      AGENTPOD_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
    });
    assert.equal(parseEnv(ServiceEnv, { AGENTPOD_SECRET_KEY: 'k'.repeat(32) }).AGENTPOD_PORT, 8080);
    assert.equal(
      parseEnv(ServiceEnv, { AGENTPOD_SECRET_KEY: 'k'.repeat(32), AGENTPOD_PORT: '9000' }).AGENTPOD_PORT,
      9000,
    );
    const error = configError(() => parseEnv(ServiceEnv, { AGENTPOD_PORT: 'eighty' }));
    assert.deepEqual(error.variables.sort(), ['AGENTPOD_PORT', 'AGENTPOD_SECRET_KEY']);
  });
});
