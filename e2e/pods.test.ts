import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AddNodeResult,
  LogLine,
  type NodeView,
  POD_ACCESS_TOKEN_ENV,
  PodLabels,
  type PodView,
  podRef,
  volumeName,
} from '@agentpod/contracts';
import { identityService } from '@agentpod/identity';
import { ensureTestImages, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import { type AgentHost, agentCommand, agentSocketStatus, type RunningAgent, runAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import {
  appRequest,
  canListen,
  containersOf,
  createLabelledContainer,
  docker,
  inspect,
  removeTenantResources,
  volumeExists,
} from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { type ErrorJson, EXIT, exited, failed, fragmentToken, heldPorts, ndjson } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, type Stack, startStack, tempDir } from './support/stack.ts';

/*
 * Nodes, the agent and pods on the real Docker Engine, through the whole stack: NATS, PostgreSQL, the identity,
 * tenants, pods and reconciler services, the gateway on a real port, the real agent as a child process joined with
 * the command `node add` printed, and the `agentpod` CLI as a user runs it. What runs is checked where it runs:
 * Docker's inspect, the app over its published port. One story, in order: each step builds on the one before.
 *
 * Tenant, pod and node names carry this run's id, and the agent sees Docker through a scope that hides other
 * tenants' containers (support/docker-scope.ts), so this test's reconciler never removes the containers of other
 * tests or of a developer's `npm start` on the same engine. The reverse is not in its hands: another control plane
 * with an agent on this engine (`npm start`) sees this test's containers as orphans and removes them, so run this
 * file while no such stack runs.
 */

const run = randomBytes(3).toString('hex');
const ACME = `acme-${run}`;
const GLOBEX = `globex-${run}`;
const TENANTS = [ACME, GLOBEX];
/** A tenant of another control plane sharing this engine (another test, a developer's `npm start`). */
const FOREIGN = `foreign-${run}`;
const NODE = `node-${run}`;
const ADMIN = 'admin@example.test';
const BOB = 'bob@example.test';
const SECRET = `s3cret-${randomBytes(8).toString('hex')}`;
const MiB = 1024 * 1024;
// Host ports of this run only, away from the default range a local `npm start` uses.
const PORT_LOW = 30_000 + Math.floor(Math.random() * 2_500);
const PORT_RANGE = `${PORT_LOW}-${PORT_LOW + 199}`;

type Created = PodView & { accessToken: string };

describe('nodes, the agent and pods on real Docker, through the whole stack', () => {
  const cleanup = new Cleanup();
  let stack: Stack;
  let url: string;
  let admin: Person;
  let bob: Person;
  let host: AgentHost;
  let agent: RunningAgent | undefined;
  /** State the story carries from step to step. */
  const story = {
    adminToken: '',
    nodeId: '',
    webPort: 0,
    accessToken: '',
    /** Containers that must outlive the agent's restart untouched: id → StartedAt. */
    runningBefore: new Map<string, string>(),
    laterPort: 0,
    foreignId: '',
  };

  /** The gateway's answer as the admin, for polling what the CLI shows once. */
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await http(url, method, path, { token: story.adminToken, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const getPod = (tenant: string, pod: string) => api<PodView>('GET', `/api/v1/tenants/${tenant}/pods/${pod}`);
  const getNode = () => api<NodeView>('GET', `/api/v1/nodes/${story.nodeId}`);
  /** Waits (polling every 200 ms, 30 s at most) until the pod's view passes `check`; the view. */
  const podUntil = (tenant: string, pod: string, check: (view: PodView) => boolean, what: string) =>
    eventually(
      async () => {
        const view = await getPod(tenant, pod);
        assert.ok(check(view), `${tenant}/${pod}: waiting for ${what}; now ${JSON.stringify(view)}`);
        return view;
      },
      30_000,
      200,
    );
  const nodeUntil = (status: NodeView['status']) =>
    eventually(
      async () => {
        const node = await getNode();
        assert.equal(node.status, status);
        return node;
      },
      20_000,
      200,
    );
  /** The one container of a pod, as Docker inspects it. */
  const containerOf = async (tenant: string, pod: string) => {
    const containers = await containersOf(tenant, pod);
    assert.equal(containers.length, 1, `${tenant}/${pod}: ${containers.map((c) => c.Names).join()}`);
    return inspect(containers[0]?.Id ?? '');
  };
  /** A test of the story; a failure is counted so that after() shows what the agent printed. */
  let failures = 0;
  const step = (name: string, body: () => Promise<void>) =>
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        failures++;
        throw error;
      }
    });
  const startAgent = () => {
    agent = runAgent(host);
    return agent;
  };

  before(async () => {
    await ensureTestImages();
    // Undo steps run newest first: the agent stops before anything is removed, the stack goes last.
    stack = await startStack({
      services: [identityService, tenantsService, podsService, reconcilerService],
      listen: true,
      env: { AGENTPOD_RECONCILE_INTERVAL_MS: '1000', AGENTPOD_PORT_RANGE: PORT_RANGE },
    });
    cleanup.add(() => stack.stop());
    cleanup.add(() => removeTenantResources([...TENANTS, FOREIGN]));
    url = stack.url ?? '';
    const dir = await tempDir(cleanup, 'pods-e2e');
    const scope = await startDockerScope(dir, TENANTS);
    story.foreignId = (await createLabelledContainer(FOREIGN, 'x')).id;
    cleanup.add(() => scope.stop());
    host = { stateDir: join(dir, 'agent-state'), home: join(dir, 'agent-home'), dockerSocket: scope.socketPath };
    cleanup.add(async () => {
      const code = await agent?.stop();
      if (failures > 0 && agent) process.stderr.write(`agent output (exit ${code}):\n${agent.output()}\n`);
    });

    const bootstrapper = await person(join(dir, 'admin'), { AGENTPOD_STATE_DIR: stack.stateDir });
    const bootstrap = await bootstrapper.run(['admin', 'bootstrap', '--email', ADMIN, '--json'], {
      env: { AGENTPOD_URL: url },
    });
    exited(bootstrap, EXIT.ok);
    story.adminToken = bootstrap.json<{ token: string }>().token;
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: story.adminToken });
    bob = await person(join(dir, 'bob'));
    const tenants = await Promise.all(TENANTS.map((id) => admin.run(['tenant', 'create', id, '--name', id])));
    for (const created of tenants) exited(created, EXIT.ok);
  });
  after(() => cleanup.run());

  step(
    '1. node add prints the join command; the agent joins with it and the node is online with its facts',
    async () => {
      const added = await admin.run(['node', 'add', NODE, '--json']);
      exited(added, EXIT.ok);
      const result = added.json<AddNodeResult>();
      assert.equal(result.node.status, 'pending');
      assert.equal(result.node.tenantId, null);
      assert.equal(result.installCommand, `agentpod-agent join ${url} ${result.joinToken}`);
      story.nodeId = result.node.id;

      const [command, verb, joinUrl, token, ...rest] = result.installCommand.split(' ');
      assert.deepEqual([command, verb, rest], ['agentpod-agent', 'join', []]);
      const joined = await agentCommand(host, ['join', joinUrl ?? '', token ?? '']);
      assert.equal(joined.code, 0, joined.stderr);
      assert.match(joined.stdout, new RegExp(`as node ${story.nodeId}`));
      const credentialFile = join(host.stateDir, 'credential.json');
      assert.equal((await stat(credentialFile)).mode & 0o777, 0o600);
      // The token worked once.
      const again = await agentCommand(host, ['join', joinUrl ?? '', token ?? '']);
      assert.notEqual(again.code, 0);

      await startAgent().waitFor(/connected to the control plane/);
      await nodeUntil('online');
      const list = await admin.run(['node', 'list', '--json']);
      exited(list, EXIT.ok);
      const node = list.json<{ nodes: NodeView[] }>().nodes.find((n) => n.id === story.nodeId);
      assert.equal(node?.status, 'online');
      assert.equal(node.name, NODE);
      assert.ok(node.lastSeenAt);
      const dockerVersion = (await docker.version()).Version;
      assert.deepEqual(
        [node.facts?.hostname, node.facts?.cpus, node.facts?.memoryBytes, node.facts?.dockerVersion],
        [os.hostname(), os.availableParallelism(), os.totalmem(), dockerVersion],
      );
    },
  );

  step('2. pod create --wait runs the pod hardened, reachable on 127.0.0.1, with its env and secret', async () => {
    const created = await admin.run([
      ...['pod', 'create', `${ACME}/web`, '--image', TEST_IMAGES.node, '--port', String(TEST_APP_PORT)],
      ...['--env', 'MODE=e2e', '--secret', `API_KEY=${SECRET}`, '--memory', '128m', '--cpus', '0.25'],
      ...['--pids', '64', '--volume', '/data', '--wait', '--timeout', '25', '--json'],
    ]);
    exited(created, EXIT.ok);
    const pod = created.json<Created>();
    assert.deepEqual([pod.status, pod.generation, pod.nodeId], ['running', 1, story.nodeId]);
    assert.match(pod.accessToken, /^apa_/);
    assert.ok(!created.stdout.includes(SECRET), 'the secret value is never shown');
    assert.deepEqual(pod.spec.secretNames, ['API_KEY']);
    const [port] = pod.ports;
    assert.equal(pod.ports.length, 1);
    assert.deepEqual([port?.containerPort, port?.hostIp], [TEST_APP_PORT, '127.0.0.1']);
    story.webPort = port?.hostPort ?? 0;
    story.accessToken = pod.accessToken;
    assert.ok(story.webPort >= PORT_LOW && story.webPort < PORT_LOW + 200, `${story.webPort} in ${PORT_RANGE}`);

    // What runs: the app answers on the allocated port, with the env and the decrypted secret.
    assert.deepEqual(await appRequest(story.webPort, '/healthz'), { status: 200, text: 'ok\n' });
    const names = JSON.parse((await appRequest(story.webPort, '/env')).text) as string[];
    for (const name of ['MODE', 'API_KEY', POD_ACCESS_TOKEN_ENV]) assert.ok(names.includes(name), names.join());
    assert.equal((await appRequest(story.webPort, '/env/MODE')).text, 'e2e');
    assert.equal((await appRequest(story.webPort, '/env/API_KEY')).text, SECRET);
    assert.equal((await appRequest(story.webPort, `/env/${POD_ACCESS_TOKEN_ENV}`)).text, pod.accessToken);

    const info = await containerOf(ACME, 'web');
    assert.equal(info.Id, pod.containerId);
    assert.deepEqual(
      [
        info.Config.Labels[PodLabels.pod],
        info.Config.Labels[PodLabels.tenant],
        info.Config.Labels[PodLabels.generation],
      ],
      [`${ACME}/web`, ACME, '1'],
    );
    const hc = info.HostConfig;
    assert.ok(hc.SecurityOpt?.includes('no-new-privileges:true'), JSON.stringify(hc.SecurityOpt));
    assert.deepEqual(hc.CapDrop, ['ALL']);
    for (const dangerous of ['SYS_ADMIN', 'NET_RAW', 'NET_ADMIN', 'ALL']) assert.ok(!hc.CapAdd?.includes(dangerous));
    assert.equal(hc.Privileged, false);
    assert.deepEqual([hc.Memory, hc.NanoCpus, hc.PidsLimit], [128 * MiB, 250_000_000, 64]);
    assert.equal(hc.NetworkMode, 'bridge');
    assert.deepEqual(hc.PortBindings, {
      [`${TEST_APP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: `${story.webPort}` }],
    });
    assert.deepEqual(
      info.Mounts.map((m) => [m.Type, m.Name, m.Destination]),
      [['volume', volumeName(ACME, 'web'), '/data']],
    );
  });

  step('3. logs, stop, start, restart, update and the access token, each seen in Docker and in the app', async () => {
    await appRequest(story.webPort, `/marker-${run}`);
    await eventually(
      async () => {
        const [logs, last] = await Promise.all([
          admin.run(['pod', 'logs', `${ACME}/web`, '--tail', '20']),
          admin.run(['pod', 'logs', `${ACME}/web`, '--tail', '1', '--json']),
        ]);
        exited(logs, EXIT.ok);
        assert.match(logs.stdout, new RegExp(`^GET /marker-${run}$`, 'm'));
        assert.match(logs.stdout, new RegExp(`^listening on ${TEST_APP_PORT}$`, 'm'));
        assert.match(logs.stderr, /^test app starting$/m);
        exited(last, EXIT.ok);
        const lines = last.stdout
          .trim()
          .split('\n')
          .map((line) => LogLine.parse(JSON.parse(line)));
        assert.deepEqual(
          lines.map((line) => [line.stream, line.text]),
          [['stdout', `GET /marker-${run}`]],
        );
      },
      10_000,
      500,
    );

    const { Id: containerId } = await containerOf(ACME, 'web');
    const stopped = await admin.run(['pod', 'stop', `${ACME}/web`, '--json']);
    exited(stopped, EXIT.ok);
    assert.equal(stopped.json<PodView>().desired, 'stopped');
    await podUntil(ACME, 'web', (v) => v.status === 'stopped', 'stopped');
    assert.equal((await inspect(containerId)).State.Running, false);

    exited(await admin.run(['pod', 'start', `${ACME}/web`, '--json']), EXIT.ok);
    await podUntil(ACME, 'web', (v) => v.status === 'running', 'running');
    const restarted = await inspect(containerId);
    assert.equal(restarted.State.Running, true, 'the same container runs again');
    assert.equal((await appRequest(story.webPort, '/healthz')).status, 200);

    exited(await admin.run(['pod', 'restart', `${ACME}/web`, '--json']), EXIT.ok);
    const again = await eventually(
      async () => {
        const info = await inspect(containerId);
        assert.ok(info.State.Running && info.State.StartedAt > restarted.State.StartedAt, info.State.StartedAt);
        return info;
      },
      20_000,
      200,
    );
    await podUntil(ACME, 'web', (v) => v.startedAt === again.State.StartedAt, 'the new start time');

    const updated = await admin.run([
      ...['pod', 'update', `${ACME}/web`, '--env', 'X=Y', '--wait', '--timeout', '25', '--json'],
    ]);
    exited(updated, EXIT.ok);
    const v2 = updated.json<PodView>();
    assert.deepEqual([v2.generation, v2.status, v2.spec.env], [2, 'running', { MODE: 'e2e', X: 'Y' }]);
    assert.deepEqual(
      v2.ports.map((p) => p.hostPort),
      [story.webPort],
      'same ports, same host port',
    );
    const gen2 = await containerOf(ACME, 'web');
    assert.notEqual(gen2.Id, containerId, 'a new generation is a new container');
    assert.equal(gen2.Config.Labels[PodLabels.generation], '2');
    assert.equal((await appRequest(story.webPort, '/env/X')).text, 'Y');
    assert.equal((await appRequest(story.webPort, '/env/API_KEY')).text, SECRET, 'secrets carry over');

    const token = await admin.run(['pod', 'token', `${ACME}/web`, '--json']);
    exited(token, EXIT.ok);
    assert.deepEqual(token.json(), { accessToken: story.accessToken });
    const rotated = await admin.run(['pod', 'token', `${ACME}/web`, '--rotate', '--json']);
    exited(rotated, EXIT.ok);
    const { accessToken, generation } = rotated.json<{ accessToken: string; generation: number }>();
    assert.match(accessToken, /^apa_/);
    assert.notEqual(accessToken, story.accessToken);
    assert.equal(generation, 3);
    await podUntil(ACME, 'web', (v) => v.generation === 3 && v.status === 'running', 'generation 3 running');
    assert.equal((await appRequest(story.webPort, `/env/${POD_ACCESS_TOKEN_ENV}`)).text, accessToken);
    story.accessToken = accessToken;
  });

  step('4. escalations in REST bodies are refused on create and on update; nothing is made or changed', async () => {
    const spec = { image: TEST_IMAGES.node, ports: [{ containerPort: TEST_APP_PORT }] };
    const sock = '/var/run/docker.sock';
    const creates: Record<string, unknown>[] = [
      { spec: { ...spec, privileged: true } },
      { spec: { ...spec, networkMode: 'host' } },
      { spec: { ...spec, network_mode: 'host' } },
      { spec: { ...spec, pidMode: 'host' } },
      { spec: { ...spec, userns_mode: 'host' } },
      { spec: { ...spec, devices: ['/dev/kmsg:/dev/kmsg'] } },
      { spec: { ...spec, capAdd: ['SYS_ADMIN'] } },
      { spec: { ...spec, cap_add: ['NET_ADMIN'] } },
      { spec: { ...spec, securityOpt: ['seccomp=unconfined'] } },
      { spec: { ...spec, binds: ['/:/host'] } },
      { spec: { ...spec, mounts: [{ type: 'bind', source: '/etc', target: '/host-etc' }] } },
      // Not in the policy's words, but no field the schema does not know gets through either.
      { spec: { ...spec, volume: { mountPath: '/data', source: '/etc' } } },
      { spec: { ...spec, volumes: [`${sock}:${sock}`] } },
      { spec: { ...spec, volume: { mountPath: sock } } },
      { spec: { ...spec, hostConfig: { Privileged: true, Binds: [`${sock}:${sock}`] } } },
      { spec, privileged: true },
    ];
    const refused = (what: string, answer: { status: number; body: unknown }) => {
      const shown = `${what}: ${answer.status} ${JSON.stringify(answer.body)}`;
      assert.ok([400, 403].includes(answer.status), shown);
      const { error } = answer.body as ErrorJson;
      assert.ok(['invalid', 'forbidden'].includes(error.code), shown);
      assert.match(error.message, /refused: |Unrecognized key: "source"/, shown);
    };
    for (const [i, body] of creates.entries()) {
      const answer = await http(url, 'POST', `/api/v1/tenants/${ACME}/pods`, {
        token: story.adminToken,
        body: { podId: `evil-${i}`, ...body },
      });
      refused(`create ${JSON.stringify(body)}`, answer);
    }
    const updates: Record<string, unknown>[] = [
      { privileged: true },
      { networkMode: 'host' },
      { pid: 'host' },
      { devices: ['/dev/sda'] },
      { capAdd: ['SYS_ADMIN'] },
      { binds: ['/:/host'] },
      { mounts: [{ type: 'bind', source: sock, target: sock }] },
      { env: { OK: 'yes' }, hostConfig: { CapAdd: ['ALL'] } },
    ];
    const unchanged = await getPod(ACME, 'web');
    const { Id: containerId } = await containerOf(ACME, 'web');
    for (const body of updates) {
      const answer = await http(url, 'PATCH', `/api/v1/tenants/${ACME}/pods/web`, { token: story.adminToken, body });
      refused(`update ${JSON.stringify(body)}`, answer);
    }

    const list = await admin.run(['pod', 'list', '--tenant', ACME, '--json']);
    exited(list, EXIT.ok);
    assert.deepEqual(
      list.json<{ pods: PodView[] }>().pods.map((p) => p.podId),
      ['web'],
    );
    const now = await getPod(ACME, 'web');
    assert.deepEqual([now.generation, now.spec], [unchanged.generation, unchanged.spec]);
    const containers = await containersOf(ACME);
    assert.deepEqual(
      containers.map((c) => c.Id),
      [containerId],
    );
  });

  step('5. an image that does not exist: --wait fails at once with Docker’s error, and status shows it', async () => {
    const ghost = 'agentpod-test/does-not-exist:1';
    const created = await admin.run([
      ...['pod', 'create', `${ACME}/ghost`, '--image', ghost, '--wait', '--timeout', '25', '--json'],
    ]);
    const error = failed(created, EXIT.failure, 'unavailable');
    assert.match(error.message, /failed: .*No such image: agentpod-test\/does-not-exist:1/);
    const status = await admin.run(['pod', 'status', `${ACME}/ghost`, '--json']);
    exited(status, EXIT.ok);
    const view = status.json<PodView>();
    assert.equal(view.status, 'failed');
    assert.match(view.message ?? '', /No such image: agentpod-test\/does-not-exist:1/);
    assert.deepEqual(await containersOf(ACME, 'ghost'), []);
    exited(await admin.run(['pod', 'delete', `${ACME}/ghost`, '--yes', '--json']), EXIT.ok);
  });

  step(
    '6. two tenants on one node: each container mounts its own volume only; a member of one cannot read the other',
    async () => {
      const created = await admin.run([
        ...['pod', 'create', `${GLOBEX}/web`, '--image', TEST_IMAGES.node, '--port', String(TEST_APP_PORT)],
        ...['--memory', '64m', '--volume', '/data', '--wait', '--timeout', '25', '--json'],
      ]);
      exited(created, EXIT.ok);
      const globex = created.json<Created>();
      assert.equal(globex.nodeId, story.nodeId, 'one node holds both tenants');
      const globexPort = globex.ports[0]?.hostPort ?? 0;
      assert.notEqual(globexPort, story.webPort);

      // Each app writes to /data; each sees its own file only.
      for (const [port, owner] of [
        [story.webPort, ACME],
        [globexPort, GLOBEX],
      ] as const) {
        const written = await appRequest(port, `/data/${owner}.txt`, { method: 'PUT', body: owner });
        assert.equal(written.status, 201, written.text);
      }
      assert.deepEqual(JSON.parse((await appRequest(story.webPort, '/data')).text), [`${ACME}.txt`]);
      assert.deepEqual(JSON.parse((await appRequest(globexPort, '/data')).text), [`${GLOBEX}.txt`]);
      const [acmeInfo, globexInfo] = await Promise.all([containerOf(ACME, 'web'), containerOf(GLOBEX, 'web')]);
      assert.deepEqual(
        acmeInfo.Mounts.map((m) => [m.Type, m.Name, m.Destination]),
        [['volume', volumeName(ACME, 'web'), '/data']],
      );
      assert.deepEqual(
        globexInfo.Mounts.map((m) => [m.Type, m.Name, m.Destination]),
        [['volume', volumeName(GLOBEX, 'web'), '/data']],
      );

      // bob: a member of globex only, signed in by magic link as a person would.
      const invited = await admin.run(['tenant', 'member', 'add', GLOBEX, BOB, '--role', 'member', '--json']);
      exited(invited, EXIT.ok);
      const link = (kind: 'sign-in' | 'invitation') =>
        eventually(async () => {
          const notice = stack.notices.findLast((n) => n.kind === kind && n.email === BOB);
          assert.ok(notice, `no ${kind} link for ${BOB} yet`);
          return notice.link;
        });
      const invitation = fragmentToken(await link('invitation'));
      const login = await bob.run(['login', '--email', BOB, '--url', url, '--json'], {
        answer: { when: /Paste the link here/, with: () => link('sign-in') },
      });
      exited(login, EXIT.ok);
      const saved = JSON.parse(await readFile(bob.credentialsFile, 'utf8')) as { token: string };
      const accepted = await http(url, 'POST', '/api/v1/invitations/accept', {
        token: saved.token,
        body: { token: invitation },
      });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));

      const [own, other, logs, list] = await Promise.all([
        bob.run(['pod', 'status', `${GLOBEX}/web`, '--json']),
        bob.run(['pod', 'status', `${ACME}/web`, '--json']),
        bob.run(['pod', 'logs', `${ACME}/web`, '--json']),
        bob.run(['pod', 'list', '--json']),
      ]);
      exited(own, EXIT.ok);
      assert.equal(own.json<PodView>().status, 'running');
      failed(other, EXIT.denied, 'not_found');
      failed(logs, EXIT.denied, 'not_found');
      exited(list, EXIT.ok);
      assert.deepEqual(
        list.json<{ pods: PodView[] }>().pods.map((p) => podRef(p.tenantId, p.podId)),
        [`${GLOBEX}/web`],
      );
      const direct = await http(url, 'GET', `/api/v1/tenants/${ACME}/pods/web`, { token: saved.token });
      assert.equal(direct.status, 404, JSON.stringify(direct.body));
      const token = await http(url, 'GET', `/api/v1/tenants/${ACME}/pods/web/token`, { token: saved.token });
      assert.equal(token.status, 404, JSON.stringify(token.body));
    },
  );

  step(
    '7. agent stopped: the node is unreachable, a pod for it waits; the agent back: it runs, the others untouched',
    async () => {
      for (const [tenant, pod] of [
        [ACME, 'web'],
        [GLOBEX, 'web'],
      ] as const) {
        const info = await containerOf(tenant, pod);
        assert.equal(info.State.Running, true);
        story.runningBefore.set(info.Id, info.State.StartedAt);
      }
      assert.equal(await agent?.stop('SIGTERM'), 0);
      await nodeUntil('unreachable');
      const list = await admin.run(['node', 'list', '--json']);
      exited(list, EXIT.ok);
      assert.equal(list.json<{ nodes: NodeView[] }>().nodes.find((n) => n.id === story.nodeId)?.status, 'unreachable');

      const created = await admin.run([
        ...['pod', 'create', `${ACME}/later`, '--image', TEST_IMAGES.node, '--port', String(TEST_APP_PORT)],
        ...['--memory', '64m', '--volume', '/data', '--node', NODE, '--json'],
      ]);
      exited(created, EXIT.ok);
      const later = created.json<Created>();
      assert.deepEqual([later.status, later.message, later.nodeId], ['pending', 'node unreachable', story.nodeId]);
      story.laterPort = later.ports[0]?.hostPort ?? 0;
      // Nothing happens on the node meanwhile, and what ran runs on.
      assert.deepEqual(await containersOf(ACME, 'later'), []);
      for (const [id, startedAt] of story.runningBefore) {
        const { State } = await inspect(id);
        assert.deepEqual([State.Running, State.StartedAt], [true, startedAt]);
      }

      await startAgent().waitFor(/connected to the control plane/);
      await nodeUntil('online');
      await podUntil(ACME, 'later', (v) => v.status === 'running', 'running');
      assert.equal((await appRequest(story.laterPort, '/healthz')).status, 200);
      for (const [id, startedAt] of story.runningBefore) {
        const { State } = await inspect(id);
        assert.deepEqual([State.Running, State.StartedAt], [true, startedAt], 'the agent restart touched nothing');
      }
      const [acme, globex] = await Promise.all([getPod(ACME, 'web'), getPod(GLOBEX, 'web')]);
      assert.deepEqual([acme.status, globex.status], ['running', 'running']);
      // The harness's own check: another control plane's container on this engine was neither seen nor removed
      // as an orphan through two agent sessions (support/docker-scope.ts).
      assert.equal((await inspect(story.foreignId)).State.Status, 'created');
    },
  );

  step('8. pod delete leaves no container, volume or port behind; --keep-volume keeps the data', async () => {
    const nodeBefore = await getNode();
    const deleted = await admin.run(['pod', 'delete', `${ACME}/later`, '--yes', '--json']);
    exited(deleted, EXIT.ok);
    assert.deepEqual(deleted.json(), { pod: `${ACME}/later`, deleted: true, keepVolume: false });
    await eventually(
      async () => {
        assert.deepEqual(await containersOf(ACME, 'later'), []);
        assert.equal(await volumeExists(volumeName(ACME, 'later')), false);
      },
      20_000,
      200,
    );
    assert.equal(await canListen(story.laterPort), true, `127.0.0.1:${story.laterPort} is free`);
    failed(await admin.run(['pod', 'status', `${ACME}/later`, '--json']), EXIT.denied, 'not_found');
    const node = await getNode();
    assert.deepEqual(
      [node.pods, node.reservedMemoryBytes],
      [nodeBefore.pods - 1, nodeBefore.reservedMemoryBytes - 64 * MiB],
    );
    // The node's log of placements: the port is no longer held by anyone.
    const events = await admin.run([
      'events',
      '--context',
      'pods',
      '--aggregate',
      story.nodeId,
      '--limit',
      '1000',
      '--json',
    ]);
    exited(events, EXIT.ok);
    const held = heldPorts(ndjson(events.stdout));
    assert.ok(!held.has(story.laterPort), `still held: ${[...held.entries()].join()}`);
    assert.equal(held.get(story.webPort), `${ACME}/web`);

    // Kept: the volume and its data outlive the pod, and a new pod of that name finds them.
    const keeper = async () => {
      const made = await admin.run([
        ...['pod', 'create', `${ACME}/keeper`, '--image', TEST_IMAGES.node, '--port', String(TEST_APP_PORT)],
        ...['--memory', '64m', '--volume', '/data', '--wait', '--timeout', '25', '--json'],
      ]);
      exited(made, EXIT.ok);
      return made.json<Created>().ports[0]?.hostPort ?? 0;
    };
    const port = await keeper();
    assert.equal((await appRequest(port, '/data/note', { method: 'PUT', body: 'kept' })).status, 201);
    const kept = await admin.run(['pod', 'delete', `${ACME}/keeper`, '--keep-volume', '--yes', '--json']);
    exited(kept, EXIT.ok);
    await eventually(async () => assert.deepEqual(await containersOf(ACME, 'keeper'), []), 20_000, 200);
    assert.equal(await volumeExists(volumeName(ACME, 'keeper')), true);
    assert.equal((await appRequest(await keeper(), '/data/note')).text, 'kept');
  });

  step('9. node remove: the agent is cut off at once and its credential refused; the node shows removed', async () => {
    const credential = JSON.parse(await readFile(join(host.stateDir, 'credential.json'), 'utf8')) as {
      credential: string;
    };
    const mark = agent?.output().length ?? 0;
    const removed = await admin.run(['node', 'remove', NODE, '--yes', '--json']);
    exited(removed, EXIT.ok);
    assert.equal(removed.json<NodeView>().status, 'removed');
    await agent?.waitFor(/credential refused/, 20_000);
    assert.ok(!agent?.output().slice(0, mark).includes('credential refused'), 'refused only after the removal');
    assert.equal(await agentSocketStatus(url, credential.credential), 401);

    const list = await admin.run(['node', 'list', '--json']);
    exited(list, EXIT.ok);
    assert.equal(list.json<{ nodes: NodeView[] }>().nodes.find((n) => n.id === story.nodeId)?.status, 'removed');
  });
});
