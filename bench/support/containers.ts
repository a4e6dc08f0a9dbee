import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ApiClient } from '@agentpod/cli';
import { containerName } from '@agentpod/contracts';
import { TEST_APP_PORT, TEST_IMAGES } from '@agentpod/kit/testing';
import type Docker from 'dockerode';
import { inParallel, until } from './wait.ts';

/*
 * The pods the benchmarks create and the `docker run -d` they are compared with. The baseline's flags are read
 * from a container the agent made (docker inspect), so both sides ask Docker for the same thing: the same image,
 * port publishing, memory, CPU and pids limits, capabilities, security options and log settings. Only what an
 * operator cannot ask `docker run` for (the agentpod.* labels) differs.
 */

/** Label on the baseline's containers (value: the run id). Not `agentpod.*`: no agent may take them for pods. */
export const BASELINE_LABEL = 'agentpod-bench.run';
const MiB = 1024 * 1024;

/** What `pod create <tenant>/<pod> --image agentpod-test/node:1 --port 8080 --memory 256m` sends. */
export const podBody = (podId: string) => ({
  podId,
  spec: {
    image: TEST_IMAGES.node,
    ports: [{ containerPort: TEST_APP_PORT }],
    limits: { memoryBytes: 256 * MiB },
    secretNames: [],
  },
  secrets: {},
});

/** `POST /api/v1/tenants/:tenant/pods` through the CLI's client; the name of the container it will get. */
export async function createPod(api: ApiClient, tenantId: string, podId: string): Promise<string> {
  const created = await api.call('createPod', { params: { tenant: tenantId }, body: podBody(podId) });
  return containerName(tenantId, podId, created.generation);
}

/** Deletes a pod and waits until its container is gone from Docker. */
export async function deletePod(
  api: ApiClient,
  docker: Docker,
  tenantId: string,
  podId: string,
  signal: AbortSignal,
): Promise<void> {
  await api.call('deletePod', { params: { tenant: tenantId, pod: podId } });
  const name = containerName(tenantId, podId, 1);
  await until(`the container of ${tenantId}/${podId} removed`, 30_000, signal, async () => {
    const found = await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } });
    return found.length === 0;
  });
}

/** `docker run -d` arguments that ask for the container `template` describes, published on `hostPort`. */
export function dockerRunArgs(
  template: Docker.ContainerInspectInfo,
  options: {
    name: string;
    runId: string;
    hostPort: number;
    /** Docker's own restart policy (`always`), instead of the template's. */
    restart?: string;
  },
): string[] {
  const host = template.HostConfig;
  const args = ['run', '-d', '--name', options.name, '--label', `${BASELINE_LABEL}=${options.runId}`];
  if (host.Memory) args.push('--memory', `${host.Memory}b`);
  if (host.MemorySwap) args.push('--memory-swap', `${host.MemorySwap}b`);
  if (host.NanoCpus) args.push('--cpus', String(host.NanoCpus / 1e9));
  if (host.PidsLimit) args.push('--pids-limit', String(host.PidsLimit));
  for (const option of host.SecurityOpt ?? []) args.push('--security-opt', option);
  for (const cap of host.CapDrop ?? []) args.push('--cap-drop', cap);
  for (const cap of host.CapAdd ?? []) args.push('--cap-add', cap);
  if (host.NetworkMode) args.push('--network', host.NetworkMode);
  if (host.IpcMode) args.push('--ipc', host.IpcMode);
  const restart = options.restart ?? host.RestartPolicy?.Name;
  if (restart) args.push('--restart', restart);
  if (host.LogConfig?.Type) {
    args.push('--log-driver', host.LogConfig.Type);
    for (const [key, value] of Object.entries(host.LogConfig.Config ?? {})) args.push('--log-opt', `${key}=${value}`);
  }
  for (const [port, bindings] of Object.entries(host.PortBindings ?? {}) as [string, { HostIp?: string }[]][]) {
    for (const binding of bindings) args.push('-p', `${binding.HostIp ?? ''}:${options.hostPort}:${port}`);
  }
  args.push(template.Config.Image);
  return args;
}

const execFileAsync = promisify(execFile);

/**
 * `docker run -d …`: the Docker CLI itself, since that is the baseline people compare with (an argument array,
 * no shell). Resolves once the CLI exits, i.e. once Docker answered the start.
 */
export async function dockerRun(args: readonly string[], signal?: AbortSignal): Promise<void> {
  try {
    await execFileAsync('docker', [...args], signal ? { signal } : {});
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`docker ${args.join(' ')} failed: ${failure.stderr?.trim() || failure.message}`, { cause: error });
  }
}

/** Removes every container carrying one of `labels` (`key=value`) and every volume labelled with the first. */
export async function removeLabelled(docker: Docker, labels: readonly string[]): Promise<void> {
  for (const label of labels) {
    const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
    await inParallel(containers, 8, (container) =>
      docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        }),
    );
  }
  const first = labels[0];
  if (first === undefined) return;
  const { Volumes } = await docker.listVolumes({ filters: { label: [first] } });
  await inParallel(Volumes ?? [], 8, (volume) => docker.getVolume(volume.Name).remove());
}
