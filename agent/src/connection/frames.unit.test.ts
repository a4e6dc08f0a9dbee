import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_AGENT_FRAME_BYTES } from '@agentpod/contracts';
import { agentSocketUrl, decodeGatewayFrame, encodeAgentFrame } from './frames.ts';

describe('gateway frames', () => {
  test('a request, a session message and a bye decode', () => {
    for (const frame of [
      { t: 'req', id: 'r1', op: 'facts', body: '{}' },
      { t: 'session', session: 'abcdefgh', data: '{"t":"close"}' },
      { t: 'bye', reason: 'node removed' },
    ]) {
      assert.deepEqual(decodeGatewayFrame(Buffer.from(JSON.stringify(frame))), { ok: true, frame });
    }
  });

  test('garbage is dropped with a reason, never thrown', () => {
    const cases: [Buffer | string, boolean][] = [
      ['not json', false],
      ['{"t":"req","id":"r1"}', false],
      ['{"t":"shell","cmd":"rm -rf /"}', false],
      ['{"t":"req","id":"r1","op":"facts","body":"{}","extra":1}', false],
      ['[]', false],
      ['null', false],
      [Buffer.from('{"t":"bye","reason":"x"}'), true],
      ['x'.repeat(MAX_AGENT_FRAME_BYTES + 1), false],
    ];
    for (const [data, binary] of cases) {
      const decoded = decodeGatewayFrame(data, binary);
      assert.equal(decoded.ok, false, String(data).slice(0, 60));
      assert.ok(!decoded.ok && decoded.reason.length > 0);
    }
  });

  test('an agent frame over the size limit is not encoded', () => {
    assert.equal(
      encodeAgentFrame({ t: 'pub', session: 'abcdefgh', data: 'x'.repeat(MAX_AGENT_FRAME_BYTES) }),
      undefined,
    );
    assert.equal(
      encodeAgentFrame({ t: 'hb', at: '2025-01-01T00:00:00.000Z' }),
      '{"t":"hb","at":"2025-01-01T00:00:00.000Z"}',
    );
  });

  test('the socket URL: ws for http, wss for https, always /agent', () => {
    assert.equal(agentSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/agent');
    assert.equal(agentSocketUrl('https://cp.example.com/'), 'wss://cp.example.com/agent');
    assert.equal(agentSocketUrl('https://cp.example.com:8443/some/path'), 'wss://cp.example.com:8443/agent');
  });
});
