// readStats on real v1 cgroups (with real work done inside them), on a real
// cgroup2 hierarchy without controllers, and on fake trees for what this
// machine lacks (v2 memory/pids/io/hugetlb, v1 CFQ and hugetlb files).
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  applyResources,
  createCgroup,
  detectCgroupLayout,
  networkStats,
  openCgroup,
  readStats,
  type Cgroup,
} from '../../../src/agent/cgroups/index.js';
import { StatsContainerResponseSchema } from '../../../src/protocols/gen/agent_pb.js';
import { diskOf } from './blockdev.js';
import {
  coreV2Layout,
  destroyTestCgroup,
  killChild,
  machineLayout,
  makeFakeTree,
  makeTestCgroup,
  readTrimmed,
  removeFakeTree,
  spawnInCgroup,
  v1SkipReason,
  waitFor,
  type CgroupChild,
} from './helpers.js';

const layout = await machineLayout();
const MiB = 1024n * 1024n;
/** A few hundred ms of shell arithmetic. */
const BURN_CPU = ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'];

describe('readStats on real cgroup v1', { skip: v1SkipReason(layout, 'cpuacct', 'cpu', 'memory', 'pids', 'blkio') }, () => {
  let cg: Cgroup;
  const children: CgroupChild[] = [];
  let ioDir: string | undefined;
  before(async () => {
    cg = await makeTestCgroup('stats', layout!);
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await destroyTestCgroup(cg);
    if (ioDir) await fsp.rm(ioDir, { recursive: true, force: true });
  });

  test('CPU time of a process that burned CPU shows in total, per-CPU, user and kernel figures', async () => {
    const c = await spawnInCgroup(cg, BURN_CPU);
    children.push(c);
    assert.deepEqual(await c.exited, { code: 0, signal: null });
    const { cpuStats } = await readStats(cg);
    const u = cpuStats.cpuUsage;
    assert.ok(u.totalUsage > 50_000_000n, `total ${u.totalUsage} ns`);
    assert.ok(u.percpuUsage.length >= 1);
    // The cgroup is idle now, so the per-CPU figures add up to the total.
    assert.equal(u.percpuUsage.reduce((a, b) => a + b, 0n), u.totalUsage);
    // cpuacct.stat counts 10 ms ticks, converted to ns.
    assert.ok(u.usageInUsermode + u.usageInKernelmode > 0n);
    assert.equal(u.usageInUsermode % 10_000_000n, 0n);
    assert.equal(cpuStats.throttlingData.throttledPeriods, 0n);
  });

  test('memory: an 8 MiB buffer shows in the high-water mark; limit and memory.stat come through', async () => {
    const c = await spawnInCgroup(cg, ['busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=8M', 'count=1']);
    children.push(c);
    assert.equal((await c.exited).code, 0);
    const { memoryStats } = await readStats(cg);
    assert.ok(memoryStats.usage.maxUsage >= 8n * MiB, `max usage ${memoryStats.usage.maxUsage}`);
    const limit = BigInt(await readTrimmed(join(cg.v1Dirs.memory!, 'memory.limit_in_bytes')));
    assert.equal(memoryStats.usage.limit, limit);
    assert.equal(memoryStats.useHierarchy, true);
    assert.ok('rss' in memoryStats.stats && 'pgfault' in memoryStats.stats);
    assert.equal(memoryStats.cache, memoryStats.stats.cache);
    assert.ok(memoryStats.stats.pgfault! > 0n);
  });

  test('pids: a shell with three sleeping children counts four tasks', async () => {
    const c = await spawnInCgroup(cg, ['sh', '-c', 'sleep 30 & sleep 30 & sleep 30 & wait']);
    children.push(c);
    const current = await waitFor(async () => {
      const s = await readStats(cg);
      return s.pidsStats.current === 4n ? s.pidsStats.current : undefined;
    }, 'four tasks');
    assert.equal(current, 4n);
    assert.equal((await readStats(cg)).pidsStats.limit, 0n); // "max"
    await killChild(c);
  });

  test('blkio: direct writes through a throttled disk are counted per operation', async (t) => {
    ioDir = await fsp.mkdtemp(join(tmpdir(), 'kata-ts-blkio-'));
    const disk = await diskOf(ioDir);
    if (!disk) return t.skip('the temp dir is not on a block device');
    // The throttle layer only counts I/O of cgroups that have a rule.
    await applyResources(cg, {
      blockIO: { throttleWriteBpsDevice: [{ major: disk.major, minor: disk.minor, rate: 1n << 40n }] },
    });
    const file = join(ioDir, 'data');
    const c = await spawnInCgroup(cg, ['dd', 'if=/dev/zero', `of=${file}`, 'bs=1M', 'count=4', 'oflag=direct', 'status=none']);
    children.push(c);
    const exit = await c.exited;
    if (exit.code !== 0) return t.skip('the temp dir file system does not take O_DIRECT writes');
    const { blkioStats } = await readStats(cg);
    const onDisk = (e: { major: bigint; minor: bigint }) => e.major === BigInt(disk.major) && e.minor === BigInt(disk.minor);
    const written = blkioStats.ioServiceBytesRecursive.find((e) => onDisk(e) && e.op === 'write');
    assert.ok(written, JSON.stringify(blkioStats.ioServiceBytesRecursive, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    assert.ok(written.value >= 4n * MiB);
    const ops = blkioStats.ioServicedRecursive.find((e) => onDisk(e) && e.op === 'write');
    assert.ok(ops && ops.value >= 1n);
    assert.ok(blkioStats.ioServiceBytesRecursive.some((e) => onDisk(e) && e.op === 'total'));
  });

  test('the result fits the StatsContainerResponse message and survives a protobuf round trip', async () => {
    const stats = await readStats(cg);
    const msg = create(StatsContainerResponseSchema, { cgroupStats: stats, networkStats: await networkStats() });
    const back = fromBinary(StatsContainerResponseSchema, toBinary(StatsContainerResponseSchema, msg));
    assert.equal(back.cgroupStats?.cpuStats?.cpuUsage?.totalUsage, stats.cpuStats.cpuUsage.totalUsage);
    assert.deepEqual(back.cgroupStats?.cpuStats?.cpuUsage?.percpuUsage, stats.cpuStats.cpuUsage.percpuUsage);
    assert.equal(back.cgroupStats?.memoryStats?.usage?.maxUsage, stats.memoryStats.usage.maxUsage);
    assert.equal(back.cgroupStats?.memoryStats?.stats.rss, stats.memoryStats.stats.rss);
    assert.ok(back.networkStats.some((n) => n.name === 'lo'));
  });

  test('a removed cgroup is NOT_FOUND', async () => {
    const gone = await makeTestCgroup('gone', layout!);
    await destroyTestCgroup(gone);
    await assert.rejects(readStats(gone), { code: 'NOT_FOUND' });
  });
});

describe('readStats on a real cgroup2 hierarchy without controllers', { skip: !coreV2Layout(layout) && 'no cgroup2 here' }, () => {
  let cg: Cgroup;
  const v2 = coreV2Layout(layout)!;
  before(async () => {
    cg = await makeTestCgroup('stats2', v2);
  });
  after(async () => destroyTestCgroup(cg));

  test('CPU time comes from the core cpu.stat (usage_usec) in nanoseconds; controllers it lacks read zero', async () => {
    const c = await spawnInCgroup(cg, BURN_CPU);
    assert.equal((await c.exited).code, 0);
    const raw = await readTrimmed(join(cg.v2Dir!, 'cpu.stat'));
    const usageUsec = BigInt(/usage_usec (\d+)/.exec(raw)![1]!);
    const s = await readStats(cg);
    assert.ok(usageUsec > 0n);
    assert.equal(s.cpuStats.cpuUsage.totalUsage, usageUsec * 1000n);
    assert.deepEqual(s.cpuStats.cpuUsage.percpuUsage, []);
    assert.equal(s.memoryStats.usage.usage, 0n);
    assert.equal(s.pidsStats.current, 0n);
  });
});

describe('readStats on a fake cgroup v2 tree', () => {
  let root: string;
  before(async () => {
    const c = 'kata/ctr/';
    root = await makeFakeTree({
      'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
      'cgroup.procs': '',
      [`${c}cgroup.procs`]: '123\n',
      [`${c}cpu.stat`]:
        'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 1500\nnr_bursts 0\nburst_usec 0\n',
      [`${c}memory.current`]: '10485760\n',
      [`${c}memory.peak`]: '20971520\n',
      [`${c}memory.max`]: 'max\n',
      [`${c}memory.events`]: 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n',
      [`${c}memory.swap.current`]: '4096\n',
      [`${c}memory.swap.max`]: '1073741824\n',
      [`${c}memory.swap.events`]: 'high 0\nmax 0\nfail 2\n',
      [`${c}memory.stat`]:
        'anon 6291456\nfile 4194304\nkernel 1048576\nkernel_stack 65536\npagetables 131072\nsock 0\nshmem 0\nfile_mapped 1048576\npgfault 4242\n',
      [`${c}pids.current`]: '5\n',
      [`${c}pids.max`]: '100\n',
      [`${c}io.stat`]:
        '254:0 rbytes=1048576 wbytes=2097152 rios=16 wios=32 dbytes=0 dios=0\n7:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=512 dios=1\n',
      [`${c}hugetlb.2MB.current`]: '4194304\n',
      [`${c}hugetlb.2MB.max`]: 'max\n',
      [`${c}hugetlb.2MB.events`]: 'max 3\n',
      [`${c}hugetlb.2MB.rsvd.current`]: '0\n',
      [`${c}hugetlb.1GB.current`]: '0\n',
      [`${c}hugetlb.1GB.events`]: 'max 0\n',
    });
  });
  after(async () => removeFakeTree(root));

  test('every section is read and converted (usec to ns, "max" limits, io.stat split into bytes and ops)', async () => {
    const layout2 = await detectCgroupLayout(root);
    assert.equal(layout2.mode, 'v2');
    const s = await readStats(await openCgroup('/kata/ctr', { layout: layout2 }));
    assert.deepEqual(s.cpuStats, {
      cpuUsage: {
        totalUsage: 2_500_000_000n,
        percpuUsage: [],
        usageInKernelmode: 500_000_000n,
        usageInUsermode: 2_000_000_000n,
      },
      throttlingData: { periods: 10n, throttledPeriods: 3n, throttledTime: 1_500_000n },
    });
    assert.deepEqual(s.memoryStats.usage, { usage: 10485760n, maxUsage: 20971520n, failcnt: 7n, limit: 2n ** 64n - 1n });
    assert.deepEqual(s.memoryStats.swapUsage, { usage: 4096n, maxUsage: 0n, failcnt: 2n, limit: 1073741824n });
    assert.equal(s.memoryStats.kernelUsage.usage, 1048576n);
    assert.equal(s.memoryStats.cache, 4194304n);
    assert.equal(s.memoryStats.useHierarchy, true);
    assert.equal(s.memoryStats.stats.pgfault, 4242n);
    assert.deepEqual(s.pidsStats, { current: 5n, limit: 100n });
    assert.deepEqual(s.blkioStats.ioServiceBytesRecursive, [
      { major: 254n, minor: 0n, op: 'read', value: 1048576n },
      { major: 254n, minor: 0n, op: 'write', value: 2097152n },
      { major: 254n, minor: 0n, op: 'discard', value: 0n },
      { major: 7n, minor: 0n, op: 'read', value: 4096n },
      { major: 7n, minor: 0n, op: 'write', value: 0n },
      { major: 7n, minor: 0n, op: 'discard', value: 512n },
    ]);
    assert.deepEqual(
      s.blkioStats.ioServicedRecursive.map((e) => [e.major, e.op, e.value]),
      [
        [254n, 'read', 16n],
        [254n, 'write', 32n],
        [254n, 'discard', 0n],
        [7n, 'read', 1n],
        [7n, 'write', 0n],
        [7n, 'discard', 1n],
      ],
    );
    assert.deepEqual(s.hugetlbStats, {
      '1GB': { usage: 0n, maxUsage: 0n, failcnt: 0n },
      '2MB': { usage: 4194304n, maxUsage: 0n, failcnt: 3n },
    });
  });

  test('older kernels without memory.stat "kernel": kernel usage is kernel_stack + slab', async () => {
    const file = join(root, 'kata/ctr/memory.stat');
    const saved = await fsp.readFile(file, 'utf8');
    try {
      await fsp.writeFile(file, 'anon 1\nfile 2\nkernel_stack 65536\nslab 262144\n');
      const s = await readStats(await openCgroup('/kata/ctr', { layout: await detectCgroupLayout(root) }));
      assert.equal(s.memoryStats.kernelUsage.usage, 65536n + 262144n);
    } finally {
      await fsp.writeFile(file, saved);
    }
  });
});

describe('readStats on a fake cgroup v1 tree (CFQ statistics, hugetlb, no swap accounting)', () => {
  let root: string;
  before(async () => {
    root = await makeFakeTree({
      'blkio/cgroup.procs': '',
      'hugetlb/cgroup.procs': '',
      'memory/cgroup.procs': '',
      'blkio/ctr/blkio.io_serviced_recursive': '8:0 Read 124\n8:0 Write 104\n8:0 Sync 104\n8:0 Async 124\n8:0 Total 228\nTotal 228\n',
      'blkio/ctr/blkio.io_service_bytes_recursive': '8:0 Read 1282048\n8:0 Write 2195456\n8:0 Total 3477504\nTotal 3477504\n',
      'blkio/ctr/blkio.io_queued_recursive': '8:0 Read 0\n8:0 Write 1\nTotal 1\n',
      'blkio/ctr/blkio.sectors_recursive': '8:0 6792\n',
      'blkio/ctr/blkio.time_recursive': '8:0 1500\n',
      'blkio/ctr/blkio.throttle.io_service_bytes_recursive': '8:0 Read 1\nTotal 1\n',
      'hugetlb/ctr/hugetlb.2MB.usage_in_bytes': '2097152\n',
      'hugetlb/ctr/hugetlb.2MB.max_usage_in_bytes': '4194304\n',
      'hugetlb/ctr/hugetlb.2MB.failcnt': '1\n',
      'hugetlb/ctr/hugetlb.2MB.limit_in_bytes': '9223372036854771712\n',
      'memory/ctr/memory.usage_in_bytes': '1000\n',
      'memory/ctr/memory.max_usage_in_bytes': '2000\n',
      'memory/ctr/memory.limit_in_bytes': '3000\n',
      'memory/ctr/memory.failcnt': '4\n',
      'memory/ctr/memory.use_hierarchy': '0\n',
      'memory/ctr/memory.stat': 'cache 512\nrss 488\n',
    });
  });
  after(async () => removeFakeTree(root));

  test('CFQ files win over throttle files; ops are lower-cased; per-device files have an empty op', async () => {
    const s = await readStats(await openCgroup('/ctr', { layout: await detectCgroupLayout(root) }));
    assert.deepEqual(
      s.blkioStats.ioServicedRecursive.map((e) => `${e.major}:${e.minor} ${e.op} ${e.value}`),
      ['8:0 read 124', '8:0 write 104', '8:0 sync 104', '8:0 async 124', '8:0 total 228'],
    );
    assert.equal(s.blkioStats.ioServiceBytesRecursive[0]!.value, 1282048n);
    assert.deepEqual(s.blkioStats.ioQueuedRecursive.map((e) => e.value), [0n, 1n]);
    assert.deepEqual(s.blkioStats.sectorsRecursive, [{ major: 8n, minor: 0n, op: '', value: 6792n }]);
    assert.deepEqual(s.blkioStats.ioTimeRecursive, [{ major: 8n, minor: 0n, op: '', value: 1500n }]);
    assert.deepEqual(s.hugetlbStats, { '2MB': { usage: 2097152n, maxUsage: 4194304n, failcnt: 1n } });
    assert.deepEqual(s.memoryStats.usage, { usage: 1000n, maxUsage: 2000n, failcnt: 4n, limit: 3000n });
    assert.deepEqual(s.memoryStats.swapUsage, { usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n });
    assert.equal(s.memoryStats.cache, 512n);
    assert.equal(s.memoryStats.useHierarchy, false);
    // No cpu hierarchy at all: zeros.
    assert.equal(s.cpuStats.cpuUsage.totalUsage, 0n);
  });
});
