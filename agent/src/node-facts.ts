import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type Docker from 'dockerode';

/** What a node reports about itself: enough to place pods and to tell an operator what the server is. */
export type NodeFacts = {
  hostname: string;
  os: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
  diskBytes: number;
  diskFreeBytes: number;
  dockerVersion: string | null;
};

export async function readNodeFacts(docker: Docker | undefined): Promise<NodeFacts> {
  const disk = await statfs('/');
  let dockerVersion: string | null = null;
  if (docker) {
    dockerVersion = await docker.version().then(
      (v) => v.Version,
      () => null,
    );
  }
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    diskBytes: disk.blocks * disk.bsize,
    diskFreeBytes: disk.bavail * disk.bsize,
    dockerVersion,
  };
}
