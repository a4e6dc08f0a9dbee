import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  containerTraffic,
  diskMounts,
  isNodeInterface,
  memoryOf,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseProcStat,
} from './proc.ts';

const PROC_STAT = `cpu  15751 73 5564 122778 666 0 134 47 10 0
cpu0 7634 49 2472 62140 86 0 23 18 5 0
cpu1 8116 24 3092 60637 580 0 111 28 5 0
intr 1234 0 0
ctxt 99
btime 1700000000
`;

const MEMINFO = `MemTotal:       24684084 kB
MemFree:        22490752 kB
MemAvailable:   23477788 kB
Buffers:           11860 kB
Cached:          1187596 kB
Active(file):     590168 kB
SwapTotal:       2097148 kB
SwapFree:        1048576 kB
HugePages_Total:       0
`;

const MOUNTS = `proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
devtmpfs /dev devtmpfs rw,relatime,size=12334460k 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
tmpfs /dev/shm tmpfs rw,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
/dev/vda /var/lib/docker ext4 rw,relatime,discard 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,lowerdir=/x 0 0
nsfs /run/docker/netns/1234 nsfs rw 0 0
/dev/vdb1 /srv/my\\040data xfs rw,relatime 0 0
server:/export /mnt/nfs nfs4 rw,relatime 0 0
/dev/loop3 /snap/core/123 squashfs ro 0 0
/dev/vdc /var/lib/docker/volumes/x/_data ext4 rw 0 0
gvfsd-fuse /run/user/1000/gvfs fuse.gvfsd-fuse rw 0 0
`;

const DISKSTATS = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 72732 17532 4531362 26684 53055 45294 5882608 39167 0 11448 67749 15301 76 1171408 1326 10103 571
 254       1 vda1 100 0 2000 10 50 0 4000 5 0 1 1
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 3581552   12105    0    0    0     0          0         0  3581552   12105    0    0    0     0       0          0
  eth0:471036527   10851    0    0    0     0          0         0   912726    7705    0    0    0     0       0          0
docker0:       0       0    0    0    0     0          0         0      746       7    0    4    0     0       0          0
vethab12cd: 500 5 0 0 0 0 0 0 600 6 0 0 0 0 0 0
`;

describe('metrics: /proc parsers', () => {
  test('/proc/stat: the machine and each core; idle and iowait are not busy; guest time is not counted twice', () => {
    const stat = parseProcStat(PROC_STAT);
    assert.ok(stat);
    // user nice system idle iowait irq softirq steal = 15751+73+5564+122778+666+0+134+47
    assert.deepEqual(stat.total, { total: 145013, busy: 145013 - 122778 - 666 });
    assert.equal(stat.cores.length, 2);
    assert.deepEqual(stat.cores[1], { total: 72588, busy: 72588 - 60637 - 580 });
    assert.equal(parseProcStat('nothing here'), undefined);
    assert.equal(parseProcStat(''), undefined);
  });

  test('/proc/meminfo: bytes; used = total − available; swap used = total − free', () => {
    const memory = memoryOf(parseMeminfo(MEMINFO));
    assert.deepEqual(memory, {
      totalBytes: 24684084 * 1024,
      usedBytes: (24684084 - 23477788) * 1024,
      availableBytes: 23477788 * 1024,
      swapTotalBytes: 2097148 * 1024,
      swapUsedBytes: (2097148 - 1048576) * 1024,
    });
    assert.equal(parseMeminfo(MEMINFO).get('HugePages_Total'), 0);
    // An old kernel without MemAvailable: free + buffers + cache.
    const old = memoryOf(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n'));
    assert.equal(old.availableBytes, 400 * 1024);
    assert.equal(old.usedBytes, 600 * 1024);
    assert.deepEqual(memoryOf(new Map()), {
      totalBytes: 0,
      usedBytes: 0,
      availableBytes: 0,
      swapTotalBytes: 0,
      swapUsedBytes: 0,
    });
  });

  test('/proc/loadavg', () => {
    assert.deepEqual(parseLoadavg('2.83 0.92 0.39 1/219 15767\n'), [2.83, 0.92, 0.39]);
    assert.deepEqual(parseLoadavg('garbage'), [0, 0, 0]);
  });

  test('mounts: real filesystems only, each device once, escapes decoded', () => {
    const disks = diskMounts(parseMounts(MOUNTS));
    assert.deepEqual(
      disks.map((mount) => [mount.device, mount.mountPoint, mount.type]),
      [
        ['/dev/vda', '/', 'ext4'],
        ['/dev/vdb1', '/srv/my data', 'xfs'],
      ],
    );
  });

  test('/proc/diskstats: sectors of 512 bytes by major:minor; short lines skipped', () => {
    const io = parseDiskstats(DISKSTATS);
    assert.deepEqual(io.get('254:0'), { readBytes: 4531362 * 512, writeBytes: 5882608 * 512 });
    assert.deepEqual(io.get('254:1'), { readBytes: 2000 * 512, writeBytes: 4000 * 512 });
    assert.deepEqual(io.get('7:0'), { readBytes: 0, writeBytes: 0 });
    assert.equal(parseDiskstats('1 2 short').size, 0);
  });

  test('/proc/net/dev: bytes by interface (also with no space after the colon); node keeps bridges, drops lo and veth', () => {
    const interfaces = parseNetDev(NET_DEV);
    assert.deepEqual(interfaces.get('eth0'), { rxBytes: 471036527, txBytes: 912726 });
    assert.deepEqual(interfaces.get('docker0'), { rxBytes: 0, txBytes: 746 });
    assert.equal(interfaces.size, 4);
    assert.deepEqual([...interfaces.keys()].filter(isNodeInterface), ['eth0', 'docker0']);
    // A container's own traffic: everything but loopback.
    assert.deepEqual(containerTraffic(interfaces), { rxBytes: 471036527 + 0 + 500, txBytes: 912726 + 746 + 600 });
  });
});
