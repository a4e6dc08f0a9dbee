import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import type { AddNodeResult, AlertRuleView, AlertView, PodView, Series, TopRow } from '@agentpod/contracts';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import { type AgentHost, joinAndRun, type RunningAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import { bootstrapAdmin, type ControlPlane, startControlPlane, stopAgentAndReport } from './support/control-plane.ts';
import { removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { EXIT, exited } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, tempDir } from './support/stack.ts';
import { printedLink } from './support/workspace.ts';

/*
 * Monitoring through the whole stack, each part a process of its own: identity, tenants, pods, reconciler, monitor
 * and the gateway, the real agent and Docker. A pod burns CPU for 75 s, then sleeps. Its real container stats go
 * from Docker through the agent's samples and the monitor's ingester to a chart query and to `top`; a member of
 * another tenant cannot read them. A CPU rule (above 5 % over 1 minute) about the pod fires while it burns and
 * resolves once it sleeps.
 *
 * The agent samples every 10 s (its default: support/agent.ts gives it no other environment), and a level rule
 * fires only once its samples cover three quarters of the window (services/monitor/src/rules/judge.ts), so the
 * story takes two to four minutes. Waits are generous and times are reported as diagnostics, never asserted.
 */

const run = randomBytes(3).toString('hex');
const TENANT = `mon-${run}`;
const OTHER = `mon-other-${run}`;
const NODE = `mon-node-${run}`;
const POD = 'burner';
const ADMIN = 'admin@example.test';
const PORT_LOW = 35_000 + Math.floor(Math.random() * 2_000);
const BURN = 'end=$(($(date +%s)+75)); while [ $(date +%s) -lt $end ]; do :; done; exec sleep 3600';
const CPU_THRESHOLD = 5;

describe('monitoring: real container stats to charts and top, a CPU rule that fires and resolves', () => {
  const cleanup = new Cleanup();
  let cp: ControlPlane;
  let url = '';
  let dir = '';
  let token = '';
  let admin: Person;
  let agent: RunningAgent | undefined;
  let ruleId = '';
  let createdAt = 0;
  let firedAt = 0;
  let failures = 0;
  const people = new Map<string, string>();

  const api = async <T>(method: string, path: string, body?: unknown, as = token): Promise<T> => {
    const answer = await http(url, method, path, { token: as, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const step = (name: string, body: (t: TestContext) => Promise<void>) =>
    test(name, async (t) => {
      try {
        await body(t);
      } catch (error) {
        failures++;
        throw error;
      }
    });
  const since = (start: number) => `${Math.round((performance.now() - start) / 1000)} s`;
  /** The alerts of the rule about the pod. */
  const alertsOfRule = async () => {
    const { alerts } = await api<{ alerts: AlertView[] }>('GET', `/api/v1/alerts?tenant=${TENANT}`);
    return alerts.filter((a) => a.ruleId === ruleId && a.target.tenantId === TENANT && a.target.podId === POD);
  };
  /** Someone invited to `tenant` as `role`, signed in through the CLI (local mode: the link the gateway printed). */
  const join_ = async (name: string, tenant: string, role: string) => {
    const email = `${name}-${run}@example.test`;
    exited(await admin.run(['tenant', 'member', 'add', tenant, email, '--role', role, '--json']), EXIT.ok);
    const link = (kind: 'sign-in' | 'invitation') =>
      eventually(async () => {
        const found = printedLink(cp.process('gateway').output(), kind, email);
        assert.ok(found, `no ${kind} link for ${email} yet`);
        return found;
      });
    const invitation = new URL(await link('invitation')).hash.replace(/^#token=/, '');
    const someone = await person(join(dir, name), { AGENTPOD_URL: url });
    const login = await someone.run(['login', '--email', email, '--url', url, '--json'], {
      answer: { when: /Paste the link here/, with: () => link('sign-in') },
    });
    exited(login, EXIT.ok);
    const saved = JSON.parse(await readFile(someone.credentialsFile, 'utf8')) as { token: string };
    const accepted = await http(url, 'POST', '/api/v1/invitations/accept', {
      token: saved.token,
      body: { token: invitation },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    people.set(name, saved.token);
  };

  before(async () => {
    await ensureTestImages();
    cp = await startControlPlane({
      instances: ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'gateway'],
      env: {
        AGENTPOD_ALERT_EVAL_SECONDS: '1',
        AGENTPOD_RECONCILE_INTERVAL_MS: '1000',
        AGENTPOD_PORT_RANGE: `${PORT_LOW}-${PORT_LOW + 99}`,
      },
    });
    cleanup.add(() => cp.close());
    cleanup.add(() => removeTenantResources([TENANT, OTHER]));
    url = cp.url;
    dir = await tempDir(cleanup, 'monitoring');
    const scope = await startDockerScope(dir, [TENANT, OTHER]);
    cleanup.add(() => scope.stop());
    const host: AgentHost = {
      stateDir: join(dir, 'agent-state'),
      home: join(dir, 'agent-home'),
      dockerSocket: scope.socketPath,
    };
    cleanup.add(
      stopAgentAndReport(
        () => agent,
        () => failures > 0,
        cp,
      ),
    );

    token = await bootstrapAdmin(cp, ADMIN);
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: token });
    await api('POST', '/api/v1/tenants', { id: TENANT, name: 'Monitoring' });
    await api('POST', '/api/v1/tenants', { id: OTHER, name: 'Another tenant' });

    const added = await api<AddNodeResult>('POST', '/api/v1/nodes', { name: NODE });
    agent = await joinAndRun(host, url, added.joinToken);
    await join_('mallory', OTHER, 'member');

    // The rule first, so it watches the pod from its first sample.
    const rule = await api<AlertRuleView>('POST', `/api/v1/tenants/${TENANT}/alert-rules`, {
      name: 'burner CPU',
      kind: 'cpu',
      threshold: CPU_THRESHOLD,
      for: '1m',
      podId: POD,
    });
    assert.deepEqual([rule.kind, rule.on, rule.threshold, rule.for, rule.podId], ['cpu', 'pod', 5, '1m', POD]);
    ruleId = rule.ruleId;

    await api('POST', `/api/v1/tenants/${TENANT}/pods`, {
      podId: POD,
      spec: { image: TEST_IMAGES.busybox, cmd: ['sh', '-c', BURN] },
    });
    createdAt = performance.now();
    await eventually(
      async () => assert.equal((await api<PodView>('GET', `/api/v1/tenants/${TENANT}/pods/${POD}`)).status, 'running'),
      60_000,
      200,
    );
  });
  after(() => cleanup.run());

  step('1. the busy container’s real stats reach the pod’s chart series and `top`', async (t) => {
    const series = await eventually(
      async () => {
        const answer = await api<Series>('GET', `/api/v1/tenants/${TENANT}/pods/${POD}/metrics?range=1h`);
        const busy = answer.points.filter((p) => p.cpuPercent > CPU_THRESHOLD && p.memoryBytes > 0);
        assert.ok(busy.length > 0, `no busy point yet: ${JSON.stringify(answer.points)}`);
        return answer;
      },
      90_000,
      1_000,
    );
    t.diagnostic(`created → a busy point in the series after ${since(createdAt)}`);
    assert.deepEqual(series.target, { kind: 'pod', tenantId: TENANT, podId: POD });
    assert.deepEqual([series.range, series.resolution], ['1h', 'raw']);
    t.diagnostic(`points: ${series.points.map((p) => `${p.cpuPercent.toFixed(1)}% ${p.memoryBytes} B`).join(', ')}`);

    const row = await eventually(
      async () => {
        const { rows } = await api<{ rows: TopRow[] }>('GET', '/api/v1/top');
        const found = rows.find((r) => r.kind === 'pod' && r.tenantId === TENANT && r.podId === POD);
        assert.ok(found, `the pod is not in top: ${JSON.stringify(rows)}`);
        return found;
      },
      30_000,
      1_000,
    );
    assert.ok(row.memoryBytes > 0, JSON.stringify(row));
    assert.ok(
      (await api<{ rows: TopRow[] }>('GET', '/api/v1/top')).rows.some((r) => r.kind === 'node'),
      'top lists the node too',
    );
  });

  step('2. a member of another tenant gets 404 for the pod’s metrics, and top does not show it', async () => {
    const mallory = people.get('mallory') ?? '';
    const answer = await http(url, 'GET', `/api/v1/tenants/${TENANT}/pods/${POD}/metrics?range=1h`, {
      token: mallory,
    });
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.ok(!JSON.stringify(answer.body).includes('cpuPercent'), 'no series in the refusal');
    const top = await http(url, 'GET', '/api/v1/top', { token: mallory });
    assert.equal(top.status, 200, JSON.stringify(top.body));
    const rows = (top.body as { rows: TopRow[] }).rows;
    assert.ok(!rows.some((r) => r.tenantId === TENANT), `another tenant's pod in top: ${JSON.stringify(rows)}`);
  });

  step('3. the CPU rule fires for the pod while it burns', async (t) => {
    const alert = await eventually(
      async () => {
        const firing = (await alertsOfRule()).filter((a) => a.state === 'firing');
        assert.equal(firing.length, 1, JSON.stringify(firing));
        return firing[0] as AlertView;
      },
      150_000,
      1_000,
    );
    firedAt = performance.now();
    t.diagnostic(`created → firing after ${since(createdAt)}: ${alert.summary}`);
    assert.deepEqual([alert.kind, alert.tenantId, alert.target.podId], ['cpu', TENANT, POD]);
    assert.equal(alert.resolvedAt, null);
  });

  step('4. the alert resolves once the load stops', async (t) => {
    assert.ok(firedAt > 0, 'the alert fired');
    const alert = await eventually(
      async () => {
        const mine = await alertsOfRule();
        assert.ok(
          mine.length > 0 && mine.every((a) => a.state === 'resolved'),
          `not resolved yet: ${JSON.stringify(mine)}`,
        );
        return mine[0] as AlertView;
      },
      150_000,
      1_000,
    );
    t.diagnostic(`firing → resolved after ${since(firedAt)} (created → resolved ${since(createdAt)})`);
    assert.ok(alert.resolvedAt, 'resolved says when');
    // The pod sleeps on: resolved because the load stopped, not because the pod went away.
    const pod = await api<PodView>('GET', `/api/v1/tenants/${TENANT}/pods/${POD}`);
    assert.equal(pod.status, 'running');
    await api('DELETE', `/api/v1/tenants/${TENANT}/pods/${POD}`);
  });
});
