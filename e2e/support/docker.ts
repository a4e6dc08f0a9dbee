import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerName, PodLabels, podRef } from '@agentpod/contracts';
import { TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';

/*
 * What really runs on this machine, asked of the Docker Engine and of the network directly rather than of
 * AgentPod: containers and volumes by their AgentPod labels, a pod's app over its published port, whether a host
 * port is free.
 */

export const docker = new Docker();

/** Every container (running or not) of one pod, or of a whole tenant. */
export function containersOf(tenantId: string, podId?: string): Promise<Docker.ContainerInfo[]> {
  const label = podId === undefined ? `${PodLabels.tenant}=${tenantId}` : `${PodLabels.pod}=${podRef(tenantId, podId)}`;
  return docker.listContainers({ all: true, filters: { label: [label] } });
}

/**
 * A container labelled as AgentPod's for a pod, made behind AgentPod's back (never started): to any control plane
 * that does not know the pod, an orphan.
 */
export function createLabelledContainer(tenantId: string, podId: string): Promise<Docker.Container> {
  return docker.createContainer({
    name: containerName(tenantId, podId, 1),
    Image: TEST_IMAGES.busybox,
    Cmd: ['sleep', '600'],
    Labels: { [PodLabels.pod]: podRef(tenantId, podId), [PodLabels.tenant]: tenantId, [PodLabels.generation]: '1' },
  });
}

export const inspect = (id: string): Promise<Docker.ContainerInspectInfo> => docker.getContainer(id).inspect();

export async function volumeExists(name: string): Promise<boolean> {
  try {
    await docker.getVolume(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Removes every container and volume of these tenants, whatever state the test left them in. */
export async function removeTenantResources(tenants: readonly string[]): Promise<void> {
  for (const tenantId of tenants) {
    const containers = await containersOf(tenantId);
    await Promise.allSettled(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
    const { Volumes } = await docker.listVolumes({ filters: { label: [`${PodLabels.tenant}=${tenantId}`] } });
    await Promise.allSettled((Volumes ?? []).map((v) => docker.getVolume(v.Name).remove({ force: true })));
  }
}

export type AppAnswer = { status: number; text: string };

/**
 * A request to a pod's app on 127.0.0.1:<hostPort>. A container reported running may not listen yet (node takes a
 * moment), so a refused connection is tried again for a few seconds; an HTTP answer of any status is returned.
 */
export async function appRequest(
  hostPort: number,
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<AppAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${hostPort}${path}`, {
        ...init,
        signal: AbortSignal.timeout(3_000),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      if (attempt >= 50) throw new Error(`127.0.0.1:${hostPort}${path} did not answer`, { cause: error });
      await sleep(100);
    }
  }
}

/** Whether a server could listen on 127.0.0.1:<port> now (nothing, Docker's proxy included, holds it). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
