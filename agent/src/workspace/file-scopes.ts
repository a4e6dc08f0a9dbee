import { realpath } from 'node:fs/promises';
import { AppError, type FileScope, PodLabels, podRef } from '@agentpod/contracts';
import type Docker from 'dockerode';
import { POD_VOLUME } from '../requests/schedule.ts';
import { dockerError, statusOf } from '../runtime/docker-errors.ts';
import { isWithin, pathComponents, showPath } from './paths.ts';

/** Where a pod volume's files are on this host. */
export type VolumeMounts = { mountpoint(volume: string): Promise<string> };

/**
 * A client path placed in its scope: `base` is the real directory everything must stay in (the volume's mount
 * point, or the host root the path falls under), `names` the path below it, `shown` the path as the client
 * wrote it (normalised), `prefix` the client path of `base`. The host scope's `/` is no directory: it is the
 * list of roots (`roots`).
 */
export type Placed =
  | { kind: 'path'; base: string; names: string[]; shown: string; prefix: string }
  | { kind: 'roots'; roots: string[] };

export type Scopes = { place(scope: FileScope, path: string): Promise<Placed> };

/** The client path of `names` below a placed path's base. */
export const clientPath = (prefix: string, names: readonly string[]): string =>
  prefix === '/' ? showPath(names) : names.length === 0 ? prefix : `${prefix}/${names.join('/')}`;

/**
 * Pod volumes through Docker: only a volume named like AgentPod's (`agentpod-<tenant>_<pod>`) and labelled for
 * that very pod, so no request can reach another volume on the node (or a host path a volume would bind).
 */
export function dockerVolumes(docker: Docker): VolumeMounts {
  return {
    async mountpoint(volume) {
      const match = POD_VOLUME.exec(volume);
      if (!match) throw new AppError('forbidden', `volume ${volume} is not an AgentPod pod volume`);
      let info: Awaited<ReturnType<Docker.Volume['inspect']>>;
      try {
        info = await docker.getVolume(volume).inspect();
      } catch (error) {
        if (statusOf(error) === 404)
          throw new AppError('not_found', `no volume ${volume} on this node (the pod has not run here yet?)`);
        throw dockerError(error, `inspect volume ${volume}`);
      }
      if (info.Labels?.[PodLabels.pod] !== podRef(match[1] as string, match[2] as string))
        throw new AppError('forbidden', `volume ${volume} is not labelled as its pod's; AgentPod did not make it`);
      if (info.Driver !== 'local' || !info.Mountpoint?.startsWith('/'))
        throw new AppError('unavailable', `volume ${volume} has no local mount point on this node`);
      return info.Mountpoint;
    },
  };
}

/**
 * The file scopes of this node: pod volumes (through `volumes`; absent: unavailable) and the host roots
 * (`AGENTPOD_FILE_ROOTS`; none: the host scope is forbidden, and says which variable opens it).
 */
export function createScopes(deps: { volumes: VolumeMounts | undefined; roots: readonly string[] }): Scopes {
  const roots = [...new Set(deps.roots.map((root) => showPath(pathComponents(root))))];
  const real = async (path: string, what: string) => {
    try {
      return await realpath(path);
    } catch (error) {
      throw new AppError('not_found', `${what} does not exist on this node`, { cause: error });
    }
  };
  return {
    async place(scope, path) {
      const names = pathComponents(path);
      const shown = showPath(names);
      if (scope.kind === 'volume') {
        if (!deps.volumes) throw new AppError('unavailable', 'pod volumes need the Docker Engine');
        const base = await real(await deps.volumes.mountpoint(scope.volume), `the mount point of ${scope.volume}`);
        return { kind: 'path', base, names, shown, prefix: '/' };
      }
      if (roots.length === 0)
        throw new AppError(
          'forbidden',
          "this node's files are closed: the agent's AGENTPOD_FILE_ROOTS (comma-separated directories) is not set",
        );
      if (names.length === 0) return { kind: 'roots', roots };
      // The deepest root the path falls under (roots may nest).
      const root = roots.filter((candidate) => isWithin(candidate, shown)).sort((a, b) => b.length - a.length)[0];
      if (!root) throw new AppError('forbidden', `${shown} is outside this node's allowed roots (${roots.join(', ')})`);
      const rootNames = pathComponents(root);
      return {
        kind: 'path',
        base: await real(root, `the root ${root}`),
        names: names.slice(rootNames.length),
        shown,
        prefix: root,
      };
    },
  };
}
