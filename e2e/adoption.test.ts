import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  type AddNodeResult,
  type AdoptPodResult,
  containerName,
  type DiscoverContainersResult,
  type EventEnvelope,
  type PodView,
  podAggregateId,
} from '@agentpod/contracts';
import { identityService } from '@agentpod/identity';
import { ensureTestImages, freePort, TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import { podsService } from '@agentpod/pods';
import { reconcilerService } from '@agentpod/reconciler';
import { tenantsService } from '@agentpod/tenants';
import { type AgentHost, joinAndRun, type RunningAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import { appRequest, docker, inspect, removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { EXIT, exited, failed } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, type Stack, startStack, tempDir } from './support/stack.ts';

/*
 * Adoption through the whole stack: a container someone started by hand with `docker run` (a named volume, a bind
 * mount of a host directory, a published port) is found by `agentpod migrate discover` and taken over by
 * `agentpod migrate adopt` without a restart and without losing data; the reconciler then leaves it running as it
 * is, and the pod's next generation (`pod update`) mounts the same data. Bad input is refused with a clear answer.
 */

const exec = promisify(execFile);
const run = randomBytes(3).toString('hex');
const ACME = `acme-${run}`;
const GLOBEX = `globex-${run}`;
const TENANTS = [ACME, GLOBEX];
const NODE = `node-${run}`;
const GLOBEX_NODE = `globex-node-${run}`;
const ADMIN = 'admin@example.test';
const RUN_LABEL = `agentpod-test.run=${run}`;
const HANDMADE = `handmade-${run}`;
const OTHER = `other-${run}`;
const VOLUME = `handmade-data-${run}`;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const PORT_LOW = 33_000 + Math.floor(Math.random() * 2_000);

/** `docker …` as someone types it; the CLI's own words when it fails. */
async function dockerCli(args: readonly string[]): Promise<string> {
  try {
    return (await exec('docker', [...args])).stdout.trim();
  } catch (error) {
    throw new Error(`docker ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? error}`);
  }
}

describe('adopting a container started by hand, through the whole stack', () => {
  const cleanup = new Cleanup();
  let stack: Stack;
  let url: string;
  let admin: Person;
  let adminToken = '';
  let host: AgentHost;
  let agent: RunningAgent | undefined;
  let bindDir: string;
  let hostPort: number;
  /** The hand-made container as it was before the adoption. */
  const original = { id: '', startedAt: '' };
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
  const podView = async (pod: string) => {
    const answer = await http(url, 'GET', `/api/v1/tenants/${ACME}/pods/${pod}`, { token: adminToken });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as PodView;
  };
  /** `cat` inside a container, as an operator would check a mount. */
  const catIn = async (containerId: string, path: string) => dockerCli(['exec', containerId, 'cat', path]);

  before(async () => {
    await ensureTestImages();
    stack = await startStack({
      services: [identityService, tenantsService, podsService, reconcilerService],
      listen: true,
      env: { AGENTPOD_RECONCILE_INTERVAL_MS: '1000', AGENTPOD_PORT_RANGE: `${PORT_LOW}-${PORT_LOW + 99}` },
    });
    // Undo steps run newest first: the containers go, then the volume they used, then the stack.
    cleanup.add(() => stack.stop());
    cleanup.add(() =>
      docker
        .getVolume(VOLUME)
        .remove()
        .catch(() => {}),
    );
    cleanup.add(() => removeTenantResources(TENANTS));
    cleanup.add(async () => {
      const left = await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
      await Promise.allSettled(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    });
    url = stack.url ?? '';
    const dir = await tempDir(cleanup, 'adoption-e2e');
    bindDir = join(dir, 'bind');
    await exec('mkdir', ['-p', bindDir]);
    const scope = await startDockerScope(dir, TENANTS);
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
    adminToken = bootstrap.json<{ token: string }>().token;
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: adminToken });
    for (const id of TENANTS) exited(await admin.run(['tenant', 'create', id, '--name', id]), EXIT.ok);

    const added = await admin.run(['node', 'add', NODE, '--json']);
    exited(added, EXIT.ok);
    const [, , joinUrl, token] = added.json<AddNodeResult>().installCommand.split(' ');
    agent = await joinAndRun(host, joinUrl ?? '', token ?? '');
    // globex's own server, never joined: not a place acme's containers can be adopted from.
    exited(await admin.run(['node', 'add', GLOBEX_NODE, '--tenant', GLOBEX]), EXIT.ok);
  });
  after(() => cleanup.run());

  step('1. a container started by hand with docker run, holding data in a volume and a bind mount', async () => {
    hostPort = await freePort();
    await writeFile(join(bindDir, 'config.txt'), `bound ${run}\n`);
    original.id = await dockerCli([
      ...['run', '-d', '--name', HANDMADE, '--label', RUN_LABEL, '-e', `DB_PASSWORD=${PASSWORD}`],
      ...['-v', `${VOLUME}:/data`, '-v', `${bindDir}:/bind`, '-p', `127.0.0.1:${hostPort}:${TEST_APP_PORT}`],
      TEST_IMAGES.node,
    ]);
    assert.deepEqual(await appRequest(hostPort, '/data/note', { method: 'PUT', body: `kept ${run}\n` }), {
      status: 201,
      text: 'written\n',
    });
    original.startedAt = (await inspect(original.id)).State.StartedAt;
    // Another one, to try to adopt under a pod id that will be taken.
    await dockerCli(['run', '-d', '--name', OTHER, '--label', RUN_LABEL, TEST_IMAGES.busybox, 'sleep', '600']);
  });

  step('2. migrate discover lists it (env names, never values); AgentPod’s own containers are not there', async () => {
    const listed = await admin.run(['migrate', 'discover', '--node', NODE, '--json']);
    exited(listed, EXIT.ok);
    const result = listed.json<DiscoverContainersResult>();
    const handmade = result.containers.find((c) => c.id === original.id);
    assert.ok(handmade, `listed: ${result.containers.map((c) => c.name).join(', ')}`);
    assert.deepEqual([handmade.name, handmade.nodeName, handmade.state], [HANDMADE, NODE, 'running']);
    assert.deepEqual(handmade.ports, [
      { containerPort: TEST_APP_PORT, protocol: 'tcp', hostIp: '127.0.0.1', hostPort },
    ]);
    assert.deepEqual(handmade.mounts.map((m) => `${m.type} ${m.source}:${m.destination}`).sort(), [
      `bind ${bindDir}:/bind`,
      `volume ${VOLUME}:/data`,
    ]);
    assert.ok(handmade.envKeys.includes('DB_PASSWORD'));
    assert.ok(!listed.stdout.includes(PASSWORD), 'no env value in the listing');
    assert.ok(!result.containers.some((c) => c.name.startsWith('agentpod-')), 'no AgentPod container');
    const table = await admin.run(['migrate', 'discover']);
    exited(table, EXIT.ok);
    assert.match(table.stdout, /^NODE\s+CONTAINER\s+NAME\s+IMAGE\s+STATE\s+PORTS\s+MOUNTS\s+ENV$/m);
    assert.match(table.stdout, new RegExp(`${original.id.slice(0, 12)}\\s+${HANDMADE}\\s`));
  });

  step('3. bad input: an unknown container, a node of another tenant', async () => {
    const unknown = await admin.run([
      'migrate',
      'adopt',
      `nothing-${run}`,
      '--tenant',
      ACME,
      '--pod',
      'legacy',
      '--json',
    ]);
    assert.match(failed(unknown, EXIT.denied, 'not_found').message, new RegExp(`no container nothing-${run} on`));
    const foreign = await admin.run([
      ...['migrate', 'adopt', HANDMADE, '--tenant', ACME, '--pod', 'legacy', '--node', GLOBEX_NODE, '--json'],
    ]);
    assert.match(failed(foreign, EXIT.denied, 'not_found').message, /not available to tenant/);
    const stillThere = await inspect(original.id);
    assert.equal(stillThere.Name, `/${HANDMADE}`, 'nothing was done to it');
  });

  step('4. migrate adopt: the same container runs on, not restarted, and the pod shows it running', async () => {
    const adopted = await admin.run(['migrate', 'adopt', HANDMADE, '--tenant', ACME, '--pod', 'legacy', '--json']);
    exited(adopted, EXIT.ok);
    const result = adopted.json<AdoptPodResult>();
    assert.equal(result.containerId, original.id);
    assert.deepEqual([result.generation, result.nodeName], [1, NODE]);
    assert.match(result.accessToken, /^apa_/);
    assert.deepEqual(result.spec.secretNames, ['DB_PASSWORD'], 'env kept as a secret');
    assert.ok(!adopted.stdout.includes(PASSWORD));
    assert.deepEqual(result.ports, [{ hostPort, containerPort: TEST_APP_PORT, protocol: 'tcp', hostIp: '127.0.0.1' }]);

    const info = await inspect(original.id);
    assert.equal(info.Id, original.id);
    assert.equal(info.State.StartedAt, original.startedAt, 'not restarted');
    assert.equal(info.RestartCount, 0);
    assert.equal(info.Name, `/${containerName(ACME, 'legacy', 1)}`);
    assert.equal(await (await appRequest(hostPort, '/data/note')).text, `kept ${run}\n`, 'the volume');
    assert.equal(await catIn(original.id, '/bind/config.txt'), `bound ${run}`, 'the bind mount');

    await eventually(
      async () => {
        const list = await admin.run(['pod', 'list', '--tenant', ACME, '--json']);
        exited(list, EXIT.ok);
        const pod = list.json<{ pods: PodView[] }>().pods.find((p) => p.podId === 'legacy');
        assert.deepEqual([pod?.status, pod?.containerId], ['running', original.id]);
      },
      20_000,
      200,
    );
  });

  step('5. more bad input: the adopted container again, a pod id that is taken', async () => {
    const again = await admin.run(['migrate', 'adopt', original.id, '--tenant', ACME, '--pod', 'other', '--json']);
    assert.match(failed(again, EXIT.failure, 'conflict').message, /managed by AgentPod already/);
    const taken = await admin.run(['migrate', 'adopt', OTHER, '--tenant', ACME, '--pod', 'legacy', '--json']);
    assert.match(failed(taken, EXIT.failure, 'conflict').message, /exists already/);
    assert.equal((await inspect(OTHER)).Name, `/${OTHER}`, 'the other container was not touched');
  });

  step('6. reconciler passes leave it alone: no restart, no second container', async () => {
    // Several passes (every second here); nothing is expected to happen, so there is nothing to wait for.
    await sleep(3_500);
    const info = await inspect(original.id);
    assert.deepEqual([info.State.Running, info.State.StartedAt, info.RestartCount], [true, original.startedAt, 0]);
    const { body } = await http(
      url,
      'GET',
      `/api/v1/events?context=reconciler&aggregate=${podAggregateId(ACME, 'legacy')}`,
      { token: adminToken },
    );
    const actions = (body as { events: EventEnvelope[] }).events.map((e) => ({
      type: e.type,
      ...(e.data as { action?: string; containerId?: string | null }),
    }));
    // A create that raced the adoption takes the same container over; nothing else may have happened.
    for (const action of actions)
      assert.deepEqual([action.type, action.action, action.containerId], ['PodActionSucceeded', 'create', original.id]);
    const named = await docker.listContainers({ all: true, filters: { name: [`${ACME}_legacy`] } });
    assert.deepEqual(
      named.map((c) => c.Id),
      [original.id],
    );
    const view = await podView('legacy');
    assert.deepEqual([view.status, view.restarts, view.containerId], ['running', 0, original.id]);
  });

  step('7. pod update: the next generation mounts the same volume and bind, keeps its port and env', async () => {
    const updated = await admin.run([
      ...['pod', 'update', `${ACME}/legacy`, '--env', 'STAGE=two', '--wait', '--timeout', '25', '--json'],
    ]);
    exited(updated, EXIT.ok);
    const view = updated.json<PodView>();
    assert.deepEqual([view.generation, view.status], [2, 'running']);
    assert.ok(view.containerId && view.containerId !== original.id, 'a new generation is a new container');
    await assert.rejects(inspect(original.id), 'the adopted container made way for it');
    const next = await inspect(view.containerId);
    assert.deepEqual(
      next.Mounts.map((m) => `${m.Type} ${m.Type === 'volume' ? m.Name : m.Source}:${m.Destination}`).sort(),
      [`bind ${bindDir}:/bind`, `volume ${VOLUME}:/data`],
    );
    assert.deepEqual(next.HostConfig.CapDrop, ['ALL'], 'hardened like every AgentPod container');
    assert.equal(await (await appRequest(hostPort, '/data/note')).text, `kept ${run}\n`, 'the volume');
    assert.equal(await catIn(view.containerId, '/bind/config.txt'), `bound ${run}`, 'the bind mount');
    assert.equal((await appRequest(hostPort, '/env/DB_PASSWORD')).text, PASSWORD, 'its env, kept as a secret');
    assert.equal((await appRequest(hostPort, '/env/STAGE')).text, 'two');
  });
});
