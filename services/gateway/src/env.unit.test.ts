import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEnv } from '@agentpod/kit';
import { GatewayEnv, isIpOrCidr } from './env.ts';

describe('gateway environment', () => {
  test('trusted proxies: a comma list of IPs and CIDR blocks', () => {
    const env = parseEnv(GatewayEnv, { AGENTPOD_TRUSTED_PROXIES: ' 10.0.0.1, 192.168.0.0/16 ,::1,fd00::/8' });
    assert.deepEqual(env.AGENTPOD_TRUSTED_PROXIES, ['10.0.0.1', '192.168.0.0/16', '::1', 'fd00::/8']);
    assert.deepEqual(parseEnv(GatewayEnv, {}).AGENTPOD_TRUSTED_PROXIES, []);
    for (const bad of ['10.0.0.1/33', 'proxy.example.com', '10.0.0.1/8/1', '::1/129', '10.0.0.1/x']) {
      assert.equal(isIpOrCidr(bad), false, bad);
      assert.throws(() => parseEnv(GatewayEnv, { AGENTPOD_TRUSTED_PROXIES: bad }), /AGENTPOD_TRUSTED_PROXIES/);
    }
  });

  test('defaults: public URL, state directory under the home directory, a body limit', () => {
    const env = parseEnv(GatewayEnv, {});
    assert.equal(env.AGENTPOD_PUBLIC_URL, 'http://127.0.0.1:8080');
    assert.match(env.AGENTPOD_STATE_DIR, /\.agentpod$/);
    assert.equal(env.AGENTPOD_BODY_LIMIT, 256 * 1024);
    assert.throws(() => parseEnv(GatewayEnv, { AGENTPOD_BODY_LIMIT: '10' }), /AGENTPOD_BODY_LIMIT/);
    assert.throws(() => parseEnv(GatewayEnv, { AGENTPOD_PUBLIC_URL: 'not a url' }), /AGENTPOD_PUBLIC_URL/);
  });
});
