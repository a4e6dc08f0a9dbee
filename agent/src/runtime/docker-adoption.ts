import {
  AppError,
  type ContainerDescription,
  containerName,
  PodLabels,
  podRef,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import type Docker from 'dockerode';
import type { Adoptions } from '../adoption/registry.ts';
import { dockerError, statusOf } from './docker-errors.ts';
import { mapLimited } from './limited.ts';
import type { AdoptionTarget, ObservedContainer } from './types.ts';
import { describeFrom, escalationsOf, keptMountsOf, toUnmanaged } from './unmanaged.ts';

/*
 * The Docker side of migrating onto AgentPod: listing and describing the containers AgentPod does not manage, and
 * adopting one. Adopting never restarts the container: a rename and a restart-policy update are both live
 * changes in Docker.
 */

export type AdoptionDeps = {
  docker: Docker;
  adoptions: Adoptions | undefined;
  nodeId: () => string | undefined;
  /** The runtime's inspect: an adopted container comes back with its pod's labels. */
  inspect: (ref: string) => Promise<ObservedContainer | null>;
};

/** Docker's inspect; null when there is no such container. */
export async function rawInspect(docker: Docker, ref: string): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(ref).inspect();
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw dockerError(error, `inspect ${ref}`);
  }
}

const nameOf = (info: Docker.ContainerInspectInfo) => info.Name.replace(/^\//, '');

/** Why AgentPod already manages the container, or undefined when it does not. */
function managedBy(info: Docker.ContainerInspectInfo, adoptions: Adoptions | undefined): string | undefined {
  const label = info.Config.Labels?.[PodLabels.pod];
  if (label !== undefined) return `it is AgentPod's (pod ${label})`;
  const adopted = adoptions?.get(info.Id);
  return adopted ? `it was adopted as pod ${podRef(adopted.tenantId, adopted.podId)}` : undefined;
}

export async function discoverUnmanaged(deps: AdoptionDeps): Promise<UnmanagedContainer[]> {
  const summaries = await deps.docker
    .listContainers({ all: true })
    .catch((error) => Promise.reject(dockerError(error, 'list containers')));
  const candidates = summaries.filter((s) => s.Labels?.[PodLabels.pod] === undefined && !deps.adoptions?.get(s.Id));
  const found = await mapLimited(candidates, (summary) => rawInspect(deps.docker, summary.Id));
  return found
    .filter((info): info is Docker.ContainerInspectInfo => info !== null && !managedBy(info, deps.adoptions))
    .map(toUnmanaged)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function describeUnmanaged(deps: AdoptionDeps, ref: string): Promise<ContainerDescription | null> {
  const info = await rawInspect(deps.docker, ref);
  if (!info) return null;
  const managed = managedBy(info, deps.adoptions);
  if (managed) throw new AppError('conflict', `container ${ref} is managed by AgentPod already: ${managed}`);
  let image: Docker.ImageInspectInfo | null = null;
  try {
    image = await deps.docker.getImage(info.Image).inspect();
  } catch (error) {
    // The image may have been removed while the container runs on: everything it set counts as the container's.
    if (statusOf(error) !== 404) throw dockerError(error, `inspect image ${info.Config.Image}`);
  }
  return describeFrom(info, image?.Config ?? null);
}

/** See `ContainerRuntime.adopt`. */
export async function adoptUnmanaged(
  deps: AdoptionDeps,
  ref: string,
  owner: AdoptionTarget,
): Promise<ObservedContainer> {
  const { docker, adoptions } = deps;
  if (!adoptions) throw new AppError('unavailable', 'this agent keeps no adoption registry');
  const info = await rawInspect(docker, ref);
  if (!info) throw new AppError('not_found', `no container ${ref} on this node`);
  const pod = podRef(owner.tenantId, owner.podId);
  const name = containerName(owner.tenantId, owner.podId, owner.generation);
  const earlier = adoptions.get(info.Id);
  if (earlier) {
    if (earlier.tenantId !== owner.tenantId || earlier.podId !== owner.podId || earlier.generation !== owner.generation)
      throw new AppError(
        'conflict',
        `container ${ref} was adopted as pod ${podRef(earlier.tenantId, earlier.podId)} (generation ${earlier.generation}) already`,
      );
  } else {
    const managed = managedBy(info, adoptions);
    if (managed) throw new AppError('conflict', `container ${ref} is managed by AgentPod already: ${managed}`);
    const rival = adoptions
      .all()
      .find((a) => a.tenantId === owner.tenantId && a.podId === owner.podId && a.generation === owner.generation);
    if (rival)
      throw new AppError(
        'conflict',
        `pod ${pod} generation ${owner.generation} is container ${rival.containerId} already`,
      );
    const refused = escalationsOf(info);
    if (refused.length > 0)
      throw new AppError('forbidden', `refused: container ${ref} ${refused.join('; ')}`, { details: refused });
    const mounts = keptMountsOf(info);
    const holder = await rawInspect(docker, name);
    if (holder && holder.Id !== info.Id)
      throw new AppError('conflict', `the name ${name} is taken by container ${holder.Id.slice(0, 12)}`);
    // Recorded before the rename: from here on a retry (or a restart of the agent) finishes the same adoption.
    await adoptions.record(
      {
        containerId: info.Id,
        tenantId: owner.tenantId,
        podId: owner.podId,
        generation: owner.generation,
        nodeId: deps.nodeId() ?? null,
        originalName: nameOf(info),
        adoptedAt: new Date().toISOString(),
      },
      mounts,
    );
  }
  const container = docker.getContainer(info.Id);
  // The name makes an idempotent create of this generation find this container instead of making a second one.
  if (nameOf(info) !== name)
    await container.rename({ name }).catch((error) => Promise.reject(dockerError(error, `rename ${ref} to ${name}`)));
  // The reconciler heals AgentPod's pods, with backoff and alerts; Docker restarting on its own would race it.
  if ((info.HostConfig.RestartPolicy?.Name || 'no') !== 'no')
    await container
      .update({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } })
      .catch((error) => Promise.reject(dockerError(error, `set the restart policy of ${ref}`)));
  const adopted = await deps.inspect(info.Id);
  if (!adopted) throw new AppError('not_found', `container ${ref} went away while it was adopted`);
  return adopted;
}
