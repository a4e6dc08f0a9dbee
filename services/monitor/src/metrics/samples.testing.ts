import type { ContainerSample, MetricsMessage, MetricsSample } from '@agentpod/contracts';

/* Builders of valid metrics messages for the tests: every number derived from a seed, so expectations can be too. */

export const NODE_A = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
export const NODE_B = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';

export type PodRef = { tenantId: string; podId: string; containerId?: string };

export function container(pod: PodRef, seed: number, extra: Partial<ContainerSample> = {}): ContainerSample {
  return {
    containerId: pod.containerId ?? `c_${pod.tenantId}_${pod.podId}`,
    tenantId: pod.tenantId,
    podId: pod.podId,
    cpuPercent: seed,
    memoryBytes: seed * 1_000_000,
    memoryLimitBytes: 512 * 1024 * 1024,
    netRxBytesPerSec: seed * 10,
    netTxBytesPerSec: seed * 20,
    blockReadBytesPerSec: seed * 30,
    blockWriteBytesPerSec: seed * 40,
    restarts: 0,
    ...extra,
  };
}

export function sample(at: Date | string, seed: number, containers: ContainerSample[] = []): MetricsSample {
  return {
    at: typeof at === 'string' ? at : at.toISOString(),
    node: {
      cpu: { total: seed, perCore: [seed, seed] },
      memory: {
        totalBytes: 8_000_000_000,
        usedBytes: seed * 10_000_000,
        availableBytes: 8_000_000_000 - seed * 10_000_000,
        swapTotalBytes: 0,
        swapUsedBytes: 0,
      },
      load: [seed / 100, 0, 0],
      disks: [
        {
          mount: '/',
          device: 'sda1',
          totalBytes: 1000,
          usedBytes: 250,
          readBytesPerSec: seed,
          writeBytesPerSec: 2 * seed,
        },
        { mount: '/data', device: 'sdb1', totalBytes: 1000, usedBytes: 600, readBytesPerSec: 1, writeBytesPerSec: 1 },
      ],
      network: [
        { interface: 'eth0', rxBytesPerSec: seed * 100, txBytesPerSec: seed * 50 },
        { interface: 'eth1', rxBytesPerSec: 1, txBytesPerSec: 1 },
      ],
    },
    containers,
  };
}

export const message = (nodeId: string, samples: MetricsSample[]): MetricsMessage => ({ nodeId, samples });

export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
