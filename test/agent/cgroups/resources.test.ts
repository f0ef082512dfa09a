// applyResources: real cgroup v1 files read back after the update; the v2
// mapping on a fake tree (this machine's cgroup2 has no controllers except
// hugetlb, which is tested for real); validation before any write.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CgroupError,
  applyResources,
  blkioWeightToIoWeight,
  createCgroup,
  detectCgroupLayout,
  openCgroup,
  readStats,
  sharesToWeight,
  type Cgroup,
  type CgroupResources,
} from '../../../src/agent/cgroups/index.js';
import {
  destroyTestCgroup,
  machineLayout,
  makeFakeTree,
  makeTestCgroup,
  readTrimmed,
  removeFakeTree,
  v1SkipReason,
} from './helpers.js';

const layout = await machineLayout();
const MiB = 1024 * 1024;

function assertInvalid(field: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CgroupError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, field);
    return true;
  };
}

describe('applyResources on real cgroup v1', { skip: v1SkipReason(layout, 'memory', 'cpu', 'cpuset', 'pids', 'devices') }, () => {
  let cg: Cgroup;
  before(async () => {
    cg = await makeTestCgroup('res', layout!);
  });
  after(async () => destroyTestCgroup(cg));
  const file = (controller: string, name: string) => readTrimmed(join(cg.v1Dirs[controller]!, name));

  test('memory, cpu, cpuset, pids, blkio and device rules land in their files', async () => {
    const result = await applyResources(cg, {
      memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB, swappiness: 10, kernelTCP: 16 * MiB },
      cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0', mems: '0' },
      pids: { limit: 42 },
      blockIO: { weight: 200 },
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, minor: -1, access: 'rw' },
      ],
    });
    assert.equal(await file('memory', 'memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(await file('memory', 'memory.soft_limit_in_bytes'), String(32 * MiB));
    assert.equal(await file('memory', 'memory.memsw.limit_in_bytes'), String(96 * MiB));
    assert.equal(await file('memory', 'memory.swappiness'), '10');
    assert.equal(await file('memory', 'memory.kmem.tcp.limit_in_bytes'), String(16 * MiB));
    assert.equal(await file('cpu', 'cpu.shares'), '512');
    assert.equal(await file('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(await file('cpu', 'cpu.cfs_period_us'), '100000');
    assert.equal(await file('cpuset', 'cpuset.cpus'), '0');
    assert.equal(await file('cpuset', 'cpuset.mems'), '0');
    assert.equal(await file('pids', 'pids.max'), '42');
    assert.equal(await file('devices', 'devices.list'), 'c 1:3 rwm\nc 136:* rw');
    if (await fsp.access(join(cg.v1Dirs.blkio!, 'blkio.bfq.weight')).then(() => true, () => false)) {
      assert.match(await file('blkio', 'blkio.bfq.weight'), /(^|\s)200$/);
    } else {
      assert.ok(result.skipped.some((s) => s.startsWith('blkio.weight')));
    }
    // Shrinking memory+swap from unlimited: the memory limit went first.
    const names = result.writes.map((w) => w.file.split('/').pop());
    assert.ok(names.indexOf('memory.limit_in_bytes') < names.indexOf('memory.memsw.limit_in_bytes'));
    assert.equal((await readStats(cg)).pidsStats.limit, 42n);
  });

  test('growing memory and memory+swap past the old memory+swap limit writes memsw first', async () => {
    // 256 MiB > the current 96 MiB memsw limit: the kernel refuses it unless memsw grows first.
    const result = await applyResources(cg, { memory: { limit: 256 * MiB, swap: 512 * MiB } });
    assert.equal(await file('memory', 'memory.limit_in_bytes'), String(256 * MiB));
    assert.equal(await file('memory', 'memory.memsw.limit_in_bytes'), String(512 * MiB));
    assert.deepEqual(
      result.writes.map((w) => w.file.split('/').pop()),
      ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes'],
    );
  });

  test('-1 and 0 mean unlimited where OCI says so; bigint input works', async () => {
    await applyResources(cg, { memory: { limit: -1n, swap: -1n }, cpu: { quota: -1n }, pids: { limit: 0 } });
    assert.equal(await file('cpu', 'cpu.cfs_quota_us'), '-1');
    assert.equal(await file('pids', 'pids.max'), 'max');
    assert.ok(BigInt(await file('memory', 'memory.limit_in_bytes')) > 1n << 60n);
  });

  test('a value the kernel refuses is INVALID_ARGUMENT naming the file', async () => {
    await assert.rejects(applyResources(cg, { cpu: { period: 10 } }), assertInvalid(/cpu\.cfs_period_us/));
  });

  test('a bad field fails the whole update before anything is written', async () => {
    const before = await file('cpu', 'cpu.shares');
    await assert.rejects(
      applyResources(cg, { cpu: { shares: 1024 }, memory: { swappiness: 150 } }),
      assertInvalid(/resources\.memory\.swappiness: 150 is outside 0-100/),
    );
    assert.equal(await file('cpu', 'cpu.shares'), before);
  });
});

describe('input validation', () => {
  let root: string;
  let cg: Cgroup;
  before(async () => {
    root = await makeFakeTree({ 'cgroup.controllers': 'memory\n', 'ctr/memory.max': 'max\n' });
    cg = await openCgroup('/ctr', { layout: await detectCgroupLayout(root) });
  });
  after(async () => removeFakeTree(root));

  const cases: [string, CgroupResources, RegExp][] = [
    ['non-integer limit', { memory: { limit: 1.5 } }, /resources\.memory\.limit: must be an integer/],
    ['limit below -1', { memory: { limit: -2 } }, /resources\.memory\.limit: -2 is below the minimum -1/],
    ['swap below limit', { memory: { limit: 200, swap: 100 } }, /resources\.memory\.swap/],
    ['cpu list', { cpu: { cpus: '0-1,abc' } }, /resources\.cpu\.cpus/],
    ['blkio weight', { blockIO: { weight: 5 } }, /resources\.blockIO\.weight: 5 is outside 10-1000/],
    ['throttle device', { blockIO: { throttleReadBpsDevice: [{ major: -1, minor: 0, rate: 1 }] } }, /throttleReadBpsDevice\[0\]\.major/],
    ['device type', { devices: [{ allow: true, type: 'x' }] }, /resources\.devices\[0\]\.type/],
    ['device access', { devices: [{ allow: true, access: 'rwx' }] }, /resources\.devices\[0\]\.access/],
    ['page size', { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, /resources\.hugepageLimits\[0\]\.pageSize/],
    ['unified key', { unified: { '../../etc/passwd': 'x' } }, /resources\.unified/],
  ];
  for (const [name, res, pattern] of cases) {
    test(`${name} is INVALID_ARGUMENT naming the field`, async () => {
      await assert.rejects(applyResources(cg, res), assertInvalid(pattern));
    });
  }

  test('v2 cannot take a swap limit without a memory limit', async () => {
    await assert.rejects(applyResources(cg, { memory: { swap: 100 } }), assertInvalid(/resources\.memory\.swap/));
  });
});

describe('applyResources on a fake cgroup v2 tree', () => {
  let root: string;
  let cg: Cgroup;
  const c = 'kata/ctr/';
  before(async () => {
    root = await makeFakeTree({
      'cgroup.controllers': 'cpuset cpu io memory hugetlb pids\n',
      [`${c}cgroup.procs`]: '',
      [`${c}memory.max`]: 'max\n',
      [`${c}memory.low`]: '0\n',
      [`${c}memory.high`]: 'max\n',
      [`${c}memory.swap.max`]: 'max\n',
      [`${c}cpu.weight`]: '100\n',
      [`${c}cpu.max`]: 'max 100000\n',
      [`${c}cpuset.cpus`]: '\n',
      [`${c}cpuset.mems`]: '\n',
      [`${c}pids.max`]: 'max\n',
      [`${c}io.weight`]: 'default 100\n',
      [`${c}io.max`]: '',
      [`${c}hugetlb.2MB.max`]: 'max\n',
    });
    cg = await openCgroup('/kata/ctr', { layout: await detectCgroupLayout(root) });
  });
  after(async () => removeFakeTree(root));
  const file = (name: string) => readTrimmed(join(root, c, name));

  test('v1-style values are converted to the v2 files', async () => {
    const result = await applyResources(cg, {
      memory: { limit: 256 * MiB, reservation: 128 * MiB, swap: 512 * MiB, swappiness: 60, kernel: 1 },
      cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: '0-1', mems: '0', realtimeRuntime: 1000 },
      pids: { limit: 0 },
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 100 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
      devices: [{ allow: false, access: 'rwm' }],
      unified: { 'memory.high': '200M' },
    });
    assert.equal(await file('memory.max'), String(256 * MiB));
    assert.equal(await file('memory.low'), String(128 * MiB));
    assert.equal(await file('memory.swap.max'), String(256 * MiB)); // swap alone = 512 - 256
    assert.equal(await file('memory.high'), '200M');
    assert.equal(await file('cpu.weight'), '39'); // 1 + (1024 - 2) * 9999 / 262142
    assert.equal(await file('cpu.max'), '50000 100000');
    assert.equal(await file('cpuset.cpus'), '0-1');
    assert.equal(await file('cpuset.mems'), '0');
    assert.equal(await file('pids.max'), 'max');
    assert.equal(await file('hugetlb.2MB.max'), String(4 * MiB));
    const io = result.writes.filter((w) => w.file.endsWith('/io.weight') || w.file.endsWith('/io.max')).map((w) => w.value);
    assert.deepEqual(io, ['default 4950', '8:0 910', '8:0 rbps=1048576', '8:16 wiops=100']);
    for (const knob of ['memory.kmem', 'memory.swappiness', 'cpu.rt_runtime_us', 'devices']) {
      assert.ok(result.skipped.some((s) => s.startsWith(knob)), `${knob} skipped: ${result.skipped.join('; ')}`);
    }
  });

  test('cpu.max keeps the half that is not being changed', async () => {
    await fsp.writeFile(join(root, c, 'cpu.max'), 'max 100000\n');
    await applyResources(cg, { cpu: { quota: 20_000 } });
    assert.equal(await file('cpu.max'), '20000 100000');
    await applyResources(cg, { cpu: { period: 50_000 } });
    assert.equal(await file('cpu.max'), '20000 50000');
    await applyResources(cg, { cpu: { quota: -1 } });
    assert.equal(await file('cpu.max'), 'max 50000');
  });

  test('conversions match runc at the range ends', () => {
    assert.equal(sharesToWeight(2n), 1n);
    assert.equal(sharesToWeight(262144n), 10000n);
    assert.equal(sharesToWeight(1024n), 39n);
    assert.equal(blkioWeightToIoWeight(10n), 1n);
    assert.equal(blkioWeightToIoWeight(1000n), 10000n);
  });

  test('a missing cgroup is NOT_FOUND', async () => {
    const gone = await openCgroup('/kata', { layout: await detectCgroupLayout(root) });
    await fsp.rm(join(root, 'kata'), { recursive: true });
    await assert.rejects(applyResources(gone, { pids: { limit: 1 } }), { code: 'NOT_FOUND' });
  });
});

describe('hugetlb limits on this machine\'s cgroup2', {
  skip: layout?.unifiedControllers.includes('hugetlb') ? undefined : 'cgroup2 offers no hugetlb controller here',
}, () => {
  let cg: Cgroup | undefined;
  let enabledByUs = false;
  const control = () => join(layout!.unified!, 'cgroup.subtree_control');
  before(async () => {
    const enabled = (await readTrimmed(control())).split(/\s+/);
    if (!enabled.includes('hugetlb')) {
      await fsp.writeFile(control(), '+hugetlb');
      enabledByUs = true;
    }
    cg = await createCgroup(`kata-ts-test-huge-${process.pid}`, { layout: layout! });
  });
  after(async () => {
    if (cg) await destroyTestCgroup(cg);
    if (enabledByUs) await fsp.writeFile(control(), '-hugetlb');
  });

  test('the limit is written to hugetlb.<size>.max and usage is read back', async () => {
    assert.equal(cg!.controllerDir('hugetlb')?.version, 2);
    await applyResources(cg!, { hugepageLimits: [{ pageSize: '2MB', limit: 8 * MiB }] });
    assert.equal(await readTrimmed(join(cg!.v2Dir!, 'hugetlb.2MB.max')), String(8 * MiB));
    const stats = await readStats(cg!);
    assert.deepEqual(stats.hugetlbStats['2MB'], { usage: 0n, maxUsage: 0n, failcnt: 0n });
  });
});
