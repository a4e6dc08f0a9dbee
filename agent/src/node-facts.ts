import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { NodeFacts } from '@agentpod/contracts';
import type { ContainerRuntime } from './runtime/index.ts';

/**
 * What a node reports about itself on every (re)connect: enough to place pods and to tell an operator what the
 * server is. Docker's version is null while the engine does not answer; the rest comes from the OS.
 */
export async function readNodeFacts(
  runtime: Pick<ContainerRuntime, 'version'>,
  agentVersion: string,
): Promise<NodeFacts> {
  const disk = await statfs('/');
  const dockerVersion = await runtime.version().then(
    (v) => v.version,
    () => null,
  );
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    diskBytes: disk.blocks * disk.bsize,
    diskFreeBytes: disk.bavail * disk.bsize,
    dockerVersion,
    agentVersion,
  };
}
