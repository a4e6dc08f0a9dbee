import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RolloutPodView, RolloutView } from '@agentpod/contracts';
import { formatRollout, podProgress, rolloutSummary } from './pod-upgrade.ts';

const pod = (podId: string, extra: Partial<RolloutPodView> = {}): RolloutPodView => ({
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
const rollout = (extra: Partial<RolloutView> = {}): RolloutView => ({
  id: 'rol_aaaaaaaaaaaaaaaaaaaa',
  tenantId: 'acme',
  image: 'app:2',
  maxUnavailable: 1,
  timeouts: { timeoutSeconds: 300, settleSeconds: 10 },
  status: 'running',
  reason: null,
  startedBy: { kind: 'user', id: 'usr_x' },
  pods: [],
  startedAt: '2026-03-01T12:00:00.000Z',
  endedAt: null,
  updatedAt: '2026-03-01T12:00:00.000Z',
  ...extra,
});

describe('pod upgrade output', () => {
  test('a progress line per phase, naming the image, the generation and why', () => {
    assert.equal(
      podProgress(pod('web', { phase: 'upgrading', generation: 2 }), 'app:2'),
      'upgrading to app:2 (generation 2)',
    );
    assert.equal(podProgress(pod('web', { phase: 'healthy' }), 'app:2'), 'healthy on app:2');
    const failed = pod('web', { phase: 'failed', reason: 'its health check fails' });
    assert.equal(podProgress(failed, 'app:2'), 'failed: its health check fails');
    const back = pod('web', { phase: 'rolledBack', rollbackGeneration: 3, reason: 'its health check fails' });
    assert.equal(podProgress(back, 'app:2'), 'rolled back to app:1 (generation 3)');
    assert.equal(podProgress(pod('web', { phase: 'skipped', reason: 'deleted' }), 'app:2'), 'skipped: deleted');
  });

  test('the end in one line: how it ended, why, and what happened to the pods', () => {
    const failed = rollout({
      status: 'failed',
      reason: 'acme/a: its health check fails',
      pods: [pod('a', { phase: 'rolledBack' }), pod('b'), pod('c')],
    });
    assert.equal(
      rolloutSummary(failed),
      'rollout rol_aaaaaaaaaaaaaaaaaaaa failed: acme/a: its health check fails (0 upgraded, 1 failed, 2 left untouched)\n',
    );
    const ok = rollout({ status: 'succeeded', pods: [pod('a', { phase: 'healthy' }), pod('b', { phase: 'skipped' })] });
    assert.equal(rolloutSummary(ok), 'rollout rol_aaaaaaaaaaaaaaaaaaaa succeeded (1 upgraded, 1 skipped)\n');
  });

  test('status: the rollout and a row per pod', () => {
    const text = formatRollout(rollout({ pods: [pod('a', { phase: 'upgrading', generation: 2 }), pod('b')] }));
    assert.match(text, /^rollout +rol_a+\nstatus +running\nimage +app:2, 1 at a time\n/);
    assert.match(text, /acme\/a +upgrading +app:1 +2 +-\n/);
  });
});
