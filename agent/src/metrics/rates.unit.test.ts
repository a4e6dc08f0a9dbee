import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContainerSample, NodeSample } from '@agentpod/contracts';
import {
  type ContainerCounters,
  containerSample,
  cpuPercent,
  grew,
  type NodeReading,
  nodeSample,
  perSecond,
} from './rates.ts';

const node = (atMs: number, over: Partial<NodeReading> = {}): NodeReading => ({
  atMs,
  cpu: { total: { busy: 0, total: 0 }, cores: [] },
  memory: { totalBytes: 1000, usedBytes: 400, availableBytes: 600, swapTotalBytes: 0, swapUsedBytes: 0 },
  load: [0.5, 0.25, 0.1],
  disks: [],
  network: new Map(),
  ...over,
});

const counters = (over: Partial<ContainerCounters> = {}): ContainerCounters => ({
  cpuUsec: 0,
  memoryBytes: 1024,
  memoryLimitBytes: null,
  rxBytes: 0,
  txBytes: 0,
  readBytes: 0,
  writeBytes: 0,
  ...over,
});
const labels = { containerId: 'c1', tenantId: 'acme', podId: 'web', restarts: 2 };

describe('metrics: rates from two readings', () => {
  test('a counter that went down (reset, wrap) counts as no growth, never as a negative rate', () => {
    assert.equal(grew(10, 15), 5);
    assert.equal(grew(15, 10), 0);
    assert.equal(grew(2 ** 32 - 10, 5), 0);
    assert.equal(perSecond(0, 1000, 2), 500);
    assert.equal(perSecond(1000, 0, 2), 0);
    assert.equal(perSecond(0, 1000, 0), 0, 'no time passed: no rate');
    assert.equal(perSecond(0, 1000, -1), 0);
    assert.equal(perSecond(0, 1, 3), 0.33);
  });

  test('CPU percent: busy share of the time that passed, 0–100; no time passed → 0', () => {
    assert.equal(cpuPercent({ busy: 100, total: 1000 }, { busy: 150, total: 1100 }), 50);
    assert.equal(cpuPercent({ busy: 100, total: 1000 }, { busy: 100, total: 1000 }), 0);
    // CPU hot-unplug / a counter reset.
    assert.equal(cpuPercent({ busy: 100, total: 1000 }, { busy: 10, total: 50 }), 0);
    assert.equal(cpuPercent({ busy: 100, total: 1000 }, { busy: 300, total: 1100 }), 100, 'clamped');
  });

  test('node sample: CPU per core, memory as read, disk and network rates; new or reset counters give 0', () => {
    const before = node(0, {
      cpu: { total: { busy: 0, total: 0 }, cores: [{ busy: 0, total: 0 }] },
      disks: [{ mount: '/', device: '/dev/vda', totalBytes: 100, usedBytes: 50, io: { readBytes: 0, writeBytes: 0 } }],
      network: new Map([
        ['eth0', { rxBytes: 0, txBytes: 0 }],
        ['docker0', { rxBytes: 5000, txBytes: 5000 }],
      ]),
    });
    const after = node(2000, {
      cpu: {
        total: { busy: 100, total: 400 },
        cores: [
          { busy: 100, total: 200 },
          { busy: 0, total: 200 },
        ],
      },
      disks: [
        { mount: '/', device: '/dev/vda', totalBytes: 100, usedBytes: 60, io: { readBytes: 4096, writeBytes: 1024 } },
        { mount: '/srv', device: '/dev/vdb', totalBytes: 10, usedBytes: 1 },
      ],
      network: new Map([
        ['eth0', { rxBytes: 2000, txBytes: 1000 }],
        ['docker0', { rxBytes: 10, txBytes: 10 }],
        ['wg0', { rxBytes: 100, txBytes: 100 }],
      ]),
    });
    const sample = nodeSample(before, after);
    assert.deepEqual(sample.cpu, { total: 25, perCore: [50, 0] });
    assert.deepEqual(sample.disks, [
      { mount: '/', device: '/dev/vda', totalBytes: 100, usedBytes: 60, readBytesPerSec: 2048, writeBytesPerSec: 512 },
      { mount: '/srv', device: '/dev/vdb', totalBytes: 10, usedBytes: 1, readBytesPerSec: 0, writeBytesPerSec: 0 },
    ]);
    assert.deepEqual(sample.network, [
      { interface: 'eth0', rxBytesPerSec: 1000, txBytesPerSec: 500 },
      { interface: 'docker0', rxBytesPerSec: 0, txBytesPerSec: 0 },
    ]);
    assert.deepEqual(sample.load, [0.5, 0.25, 0.1]);
    assert.equal(sample.memory.usedBytes, 400);
    NodeSample.parse(sample);
  });

  test('container sample: CPU percent of one core, rates per second, memory and restarts as read', () => {
    const sample = containerSample(
      { atMs: 1000, counters: counters({ cpuUsec: 1_000_000, rxBytes: 100, readBytes: 1000 }) },
      {
        atMs: 11_000,
        counters: counters({
          cpuUsec: 16_000_000,
          memoryBytes: 2048,
          memoryLimitBytes: 4096,
          rxBytes: 10_100,
          txBytes: 50,
          readBytes: 1000,
          writeBytes: 20_000,
        }),
      },
      labels,
    );
    assert.deepEqual(sample, {
      containerId: 'c1',
      tenantId: 'acme',
      podId: 'web',
      // 15 s of CPU in 10 s: one and a half cores.
      cpuPercent: 150,
      memoryBytes: 2048,
      memoryLimitBytes: 4096,
      netRxBytesPerSec: 1000,
      netTxBytesPerSec: 5,
      blockReadBytesPerSec: 0,
      blockWriteBytesPerSec: 2000,
      restarts: 2,
    });
    ContainerSample.parse(sample);
  });

  test('container counters that went back (restarted in place) give zeros, not negative rates', () => {
    const sample = containerSample(
      { atMs: 0, counters: counters({ cpuUsec: 9e9, rxBytes: 9e9, txBytes: 9e9, readBytes: 9e9, writeBytes: 9e9 }) },
      { atMs: 10_000, counters: counters({ cpuUsec: 5, rxBytes: 5, txBytes: 5, readBytes: 5, writeBytes: 5 }) },
      labels,
    );
    assert.equal(sample.cpuPercent, 0);
    assert.equal(sample.netRxBytesPerSec, 0);
    assert.equal(sample.netTxBytesPerSec, 0);
    assert.equal(sample.blockReadBytesPerSec, 0);
    assert.equal(sample.blockWriteBytesPerSec, 0);
    ContainerSample.parse(sample);
    // Two readings at the same instant: no rate at all rather than a division by zero.
    const same = containerSample(
      { atMs: 5, counters: counters() },
      { atMs: 5, counters: counters({ cpuUsec: 10 }) },
      labels,
    );
    assert.equal(same.cpuPercent, 0);
  });
});
