import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError, parseEnv } from '@agentpod/kit';
import { PodsEnv } from './env.ts';

const parse = (env: Record<string, string>) => parseEnv(PodsEnv, env);
const badVariables = (env: Record<string, string>) => {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.variables;
    throw error;
  }
  assert.fail('expected a configuration error');
};

describe('pods environment', () => {
  test('defaults: ports 20000-29999, no overcommit, key from the state directory', () => {
    const config = parse({});
    assert.deepEqual(config.AGENTPOD_PORT_RANGE, { low: 20_000, high: 29_999 });
    assert.equal(config.AGENTPOD_MEMORY_OVERCOMMIT, 1);
    assert.equal(config.AGENTPOD_SECRETS_KEY, undefined);
    assert.match(config.AGENTPOD_STATE_DIR, /\.agentpod$/);
  });

  test('values are parsed; a bad one is named', () => {
    const key = randomBytes(32).toString('base64');
    const config = parse({
      AGENTPOD_PORT_RANGE: '30000-30099',
      AGENTPOD_MEMORY_OVERCOMMIT: '1.5',
      AGENTPOD_SECRETS_KEY: key,
    });
    assert.deepEqual(config.AGENTPOD_PORT_RANGE, { low: 30_000, high: 30_099 });
    assert.equal(config.AGENTPOD_MEMORY_OVERCOMMIT, 1.5);
    for (const range of ['80-90', '3000-2000', '20000-70000', 'lots']) {
      assert.deepEqual(badVariables({ AGENTPOD_PORT_RANGE: range }), ['AGENTPOD_PORT_RANGE']);
    }
    assert.deepEqual(badVariables({ AGENTPOD_SECRETS_KEY: randomBytes(16).toString('base64') }), [
      'AGENTPOD_SECRETS_KEY',
    ]);
    assert.deepEqual(badVariables({ AGENTPOD_MEMORY_OVERCOMMIT: 'x' }), ['AGENTPOD_MEMORY_OVERCOMMIT']);
  });
});
