import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { targetKey, targetPath, terminalSocketUrl } from './target.ts';

describe('workspace targets', () => {
  test('the terminal socket is on the page origin, ws beside http and wss beside https, with nothing in the query', () => {
    const pod = { kind: 'pod', tenantId: 'acme', podId: 'web' } as const;
    assert.equal(
      terminalSocketUrl(pod, 'https://console.example.com/pods/acme/web?x=1#y'),
      'wss://console.example.com/api/v1/tenants/acme/pods/web/terminal',
    );
    assert.equal(
      terminalSocketUrl({ kind: 'node', nodeId: 'n1' }, 'http://127.0.0.1:8080/nodes/n1'),
      'ws://127.0.0.1:8080/api/v1/nodes/n1/terminal',
    );
  });

  test('ids are encoded into paths; keys tell pods and nodes apart', () => {
    assert.equal(targetPath({ kind: 'node', nodeId: 'a/b' }), '/nodes/a%2Fb');
    assert.notEqual(targetKey({ kind: 'node', nodeId: 'x' }), targetKey({ kind: 'pod', tenantId: 'x', podId: 'x' }));
  });
});
