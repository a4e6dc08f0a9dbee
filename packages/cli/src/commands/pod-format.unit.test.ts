import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PodSpec, type PodView } from '@agentpod/contracts';
import { podView } from '../test/pod-fixtures.ts';
import { formatAge, formatBytes, formatPodList, formatPorts, podStatusText } from './pod-format.ts';
import { cleanLogText } from './pod-logs.ts';
import { isReady, waitState } from './pod-wait.ts';

const NOW = new Date('2025-01-02T04:04:05.000Z');

describe('pod and node formatting', () => {
  test('ages, sizes and ports', () => {
    assert.equal(formatAge('2025-01-02T04:04:00.000Z', NOW), '5s');
    assert.equal(formatAge('2025-01-02T04:01:05.000Z', NOW), '3m');
    assert.equal(formatAge('2025-01-01T04:04:05.000Z', NOW), '1d');
    assert.equal(formatAge(null, NOW), '-');
    assert.equal(formatBytes(256 * 1024 * 1024), '256Mi');
    assert.equal(formatBytes(4_080_000_000), '3.8Gi');
    assert.equal(formatBytes(512), '512B');
    assert.equal(
      formatPorts([
        { hostPort: 20001, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' },
        { hostPort: 20002, containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0' },
      ]),
      '127.0.0.1:20001→8080, 0.0.0.0:20002→53/udp',
    );
    assert.equal(formatPorts([]), '-');
  });

  test('status with its reason; a long reason is cut in lists', () => {
    assert.equal(
      podStatusText({ ...podView, status: 'pending', message: 'node unreachable' }),
      'pending: node unreachable',
    );
    const long = { ...podView, status: 'failed' as const, message: `pull access denied ${'x'.repeat(80)}` };
    assert.ok(podStatusText(long).length < 60);
    assert.ok(podStatusText(long, true).endsWith('x'.repeat(80)));
  });

  test('pod list: one table per tenant, sorted', () => {
    const pods: PodView[] = [
      { ...podView, tenantId: 'globex', podId: 'api' },
      { ...podView, podId: 'worker', ports: [], restarts: 2 },
      podView,
    ];
    assert.equal(
      formatPodList(pods, NOW),
      'acme\n' +
        '  POD     STATUS   HEALTH  NODE    PORTS                 RESTARTS  AGE\n' +
        '  web     running  -       edge-1  127.0.0.1:20001→8080  0         1h\n' +
        '  worker  running  -       edge-1  -                     2         1h\n' +
        '\n' +
        'globex\n' +
        '  POD  STATUS   HEALTH  NODE    PORTS                 RESTARTS  AGE\n' +
        '  api  running  -       edge-1  127.0.0.1:20001→8080  0         1h\n',
    );
  });

  test('--wait: ready once the wanted generation runs and, with a check, is healthy', () => {
    const checked = { ...podView, spec: PodSpec.parse({ ...podView.spec, health: { type: 'tcp' } }) };
    assert.equal(isReady(podView, 1), true);
    assert.equal(isReady(podView, 2), false);
    assert.equal(isReady({ ...podView, status: 'creating' }, 1), false);
    assert.equal(isReady({ ...checked, health: 'starting' }, 1), false);
    assert.equal(isReady({ ...checked, health: 'healthy' }, 1), true);
    assert.equal(isReady({ ...podView, desired: 'stopped', status: 'stopped' }, 1), true);
    assert.equal(isReady({ ...podView, desired: 'stopped' }, 1), false);
    assert.equal(waitState({ ...checked, health: 'starting' }), 'running, health starting');
    assert.equal(
      waitState({ ...podView, status: 'pending', message: 'node unreachable' }),
      'pending: node unreachable',
    );
  });

  test("a pod's log text cannot drive the terminal; tabs stay", () => {
    assert.equal(cleanLogText('a\tb'), 'a\tb');
    assert.equal(cleanLogText('\u001b[2J\u001b]0;pwned\u0007x'), '\\u{1b}[2J\\u{1b}]0;pwned\\u{7}x');
  });
});
