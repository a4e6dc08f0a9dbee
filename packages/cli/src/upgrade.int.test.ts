import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RolloutPodView, RolloutView } from '@agentpod/contracts';
import { useFakeGateway } from './test/fake-gateway.ts';
import { podView } from './test/pod-fixtures.ts';

/*
 * `pod upgrade` and the `rollout` commands against a stand-in gateway: what each sends, how progress reads, and
 * the exit code a script gets (0 succeeded, 1 failed, 2 bad input).
 */

const ID = 'rol_aaaaaaaaaaaaaaaaaaaa';
const target = (podId: string, extra: Partial<RolloutPodView> = {}): RolloutPodView => ({
  tenantId: 'acme',
  podId,
  fromImage: 'app:1',
  fromGeneration: 1,
  phase: 'pending',
  generation: null,
  rollbackGeneration: null,
  reason: null,
  startedAt: null,
  endedAt: null,
  ...extra,
});
const rollout = (pods: RolloutPodView[], extra: Partial<RolloutView> = {}): RolloutView => ({
  id: ID,
  tenantId: 'acme',
  image: 'app:2',
  maxUnavailable: 1,
  timeouts: { timeoutSeconds: 300, settleSeconds: 10 },
  status: 'running',
  reason: null,
  startedBy: { kind: 'user', id: 'usr_x' },
  pods,
  startedAt: '2026-03-01T12:00:00.000Z',
  endedAt: null,
  updatedAt: '2026-03-01T12:00:00.000Z',
  ...extra,
});

describe('agentpod pod upgrade against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  /** The rollout as the gateway answers it, one state per poll (the last one repeats). */
  function serve(states: RolloutView[]) {
    let polls = 0;
    suite.gateway.on(`GET /api/v1/rollouts/${ID}`, () => ({
      status: 200,
      body: states[Math.min(polls++, states.length - 1)],
    }));
    suite.gateway.on('GET /api/v1/tenants/acme/pods/web', () => ({
      status: 200,
      body: { ...podView, generation: 2, status: 'running', health: 'starting' },
    }));
  }

  test('--all --tenant: starts it, shows each pod’s progress, exits 1 naming the pod that failed', async () => {
    const upgrading = target('web', { phase: 'upgrading', generation: 2 });
    const failed = rollout(
      [
        target('web', { phase: 'rolledBack', generation: 2, rollbackGeneration: 3, reason: 'its health check fails' }),
        target('api'),
      ],
      {
        status: 'failed',
        reason: 'acme/web: its health check fails',
      },
    );
    suite.gateway.on('POST /api/v1/tenants/acme/rollouts', () => ({
      status: 201,
      body: rollout([target('web'), target('api')]),
    }));
    serve([rollout([upgrading, target('api')]), failed]);
    const result = await cli(
      'pod',
      'upgrade',
      '--all',
      '--tenant',
      'acme',
      '--image',
      'app:2',
      '--max-unavailable',
      '1',
    );
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { image: 'app:2', maxUnavailable: 1, all: true });
    assert.equal(
      result.stdout,
      `rollout ${ID} failed: acme/web: its health check fails (0 upgraded, 1 failed, 1 left untouched)\n`,
    );
    assert.match(result.stderr, /^rollout rol_a+: 2 pod\(s\) of acme to app:2, 1 at a time\n/);
    assert.match(result.stderr, /acme\/web: upgrading to app:2 \(generation 2\): running\n/);
    assert.match(result.stderr, /acme\/web: rolled back to app:1 \(generation 3\)\n/);
  });

  test('one named pod: its tenant in the path, the pod in the body; --json prints the rollout; exit 0', async () => {
    const done = rollout([target('web', { phase: 'healthy', generation: 2 })], { status: 'succeeded' });
    suite.gateway.on('POST /api/v1/tenants/acme/rollouts', () => ({ status: 201, body: rollout([target('web')]) }));
    serve([done]);
    const result = await cli('pod', 'upgrade', 'acme/web', '--image', 'app:2', '--timeout', '60', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      image: 'app:2',
      timeoutSeconds: 60,
      maxUnavailable: 1,
      pods: ['web'],
    });
    assert.equal((JSON.parse(result.stdout) as RolloutView).status, 'succeeded');
  });

  test('--all alone goes to the platform route; rollout status shows one', async () => {
    suite.gateway.on('POST /api/v1/rollouts', () => ({
      status: 201,
      body: rollout([target('web', { phase: 'healthy', generation: 2 })], { status: 'succeeded', tenantId: null }),
    }));
    const all = await cli('pod', 'upgrade', '--all', '--image', 'app:2');
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stderr, /across every tenant/);
    serve([rollout([target('web', { phase: 'upgrading', generation: 2 })])]);
    const status = await cli('rollout', 'status', ID);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^rollout +rol_a+\nstatus +running\n/);
  });

  test('bad input is refused before anything is sent (exit 2)', async () => {
    const cases = [
      [['pod', 'upgrade', '--image', 'app:2'], /name one pod/],
      [['pod', 'upgrade', 'acme/web', '--all', '--image', 'app:2'], /name one pod/],
      [['pod', 'upgrade', 'acme/web', '--tenant', 'acme', '--image', 'app:2'], /--tenant goes with --all/],
      [['pod', 'upgrade', 'acme/web', '--image', 'Not An Image'], /--image/],
      [['pod', 'upgrade', 'acme/web', '--image', 'app:2', '--max-unavailable', 'two'], /--max-unavailable two/],
      [['pod', 'upgrade', 'acme/web'], /missing --image/],
      [['rollout', 'status', 'nope'], /<id>/],
    ] as const;
    for (const [args, message] of cases) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(suite.gateway.requests, []);
  });
});
