import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { unmount } from '../../../src/agent/mount/mount.js';
import {
  EphemeralHandler,
  allocateHugepages,
  parseHugepageOptions,
} from '../../../src/agent/storage/ephemeral-handler.js';
import { InvalidMountOptionError, InvalidStorageError, StorageError, StorageMountError } from '../../../src/agent/storage/errors.js';
import { createTempRoot, kernelHasFilesystem, mountAt, mountTestsSkipReason, mountsBelow, storage, type TempRoot } from '../mount/helpers.js';
import { handlerContext } from './context.js';

const skip = mountTestsSkipReason();

describe('ephemeral handler (real tmpfs and hugetlbfs mounts)', { skip }, () => {
  let tmp: TempRoot;
  before(async () => {
    tmp = await createTempRoot('kata-ts-ephemeral-');
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('the sandbox /dev/shm: flags and size visible in mountinfo, mode 1777', async () => {
    const handler = new EphemeralHandler();
    const path = await handler.mount(
      storage({
        driver: 'ephemeral',
        source: 'shm',
        fstype: 'tmpfs',
        mountPoint: `${tmp.root}/sandbox/shm`,
        options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=2097152'],
      }),
      handlerContext(tmp),
    );
    assert.equal(path, join(tmp.root, 'sandbox/shm'));
    const m = await mountAt(path);
    assert.ok(m, 'mounted');
    assert.equal(m.fstype, 'tmpfs');
    assert.equal(m.source, 'shm');
    for (const o of ['noexec', 'nosuid', 'nodev']) assert.ok(m.mountOptions.includes(o), `${o} in ${m.mountOptions}`);
    assert.ok(m.superOptions.includes('size=2048k'), m.superOptions.join(','));
    // 1777 is tmpfs's default mode, which mountinfo leaves out
    assert.equal((await stat(path)).mode & 0o7777, 0o1777);
    unmount(path);
  });

  test('a mode other than the default shows in mountinfo', async () => {
    const path = await new EphemeralHandler().mount(
      storage({ driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', mountPoint: `${tmp.root}/moded`, options: ['mode=0710', 'size=512k'] }),
      handlerContext(tmp),
    );
    const m = await mountAt(path);
    assert.ok(m?.superOptions.includes('mode=710'), m?.superOptions.join(','));
    assert.ok(m?.superOptions.includes('size=512k'), m?.superOptions.join(','));
    assert.equal((await stat(path)).mode & 0o7777, 0o710);
    unmount(path);
  });

  test('fsgid= is not given to the kernel: the root gets the group and setgid', async () => {
    const path = await new EphemeralHandler().mount(
      storage({ driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', mountPoint: `${tmp.root}/sandbox/ephemeral/vol`, options: ['fsgid=4321', 'size=1m'] }),
      handlerContext(tmp),
    );
    const st = await stat(path);
    assert.equal(st.gid, 4321);
    assert.equal(st.mode & 0o2000, 0o2000);
    const m = await mountAt(path);
    assert.ok(m && !m.superOptions.some((o) => o.startsWith('fsgid')));
    unmount(path);
  });

  test('mounted once per mount point: a second request keeps the existing mount', async () => {
    const s = storage({ driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', mountPoint: `${tmp.root}/once`, options: ['size=1m'] });
    const path = await new EphemeralHandler().mount(s, handlerContext(tmp));
    await writeFile(join(path, 'kept'), 'x');
    await new EphemeralHandler().mount(s, handlerContext(tmp));
    assert.equal((await mountsBelow(path)).length, 1);
    assert.equal(await readFile(join(path, 'kept'), 'utf8'), 'x');
    unmount(path);
  });

  test('only tmpfs and hugetlbfs; no bind; bad fsgid refused; nothing mounted', async () => {
    const ctx = handlerContext(tmp);
    await assert.rejects(
      new EphemeralHandler().mount(storage({ driver: 'ephemeral', source: 'x', fstype: 'ext4', mountPoint: `${tmp.root}/bad1` }), ctx),
      (e: unknown) => e instanceof InvalidStorageError && /^fstype: "ext4" is not an ephemeral filesystem/.test(e.message),
    );
    await assert.rejects(
      new EphemeralHandler().mount(storage({ driver: 'ephemeral', source: tmp.outside, fstype: 'tmpfs', options: ['bind'], mountPoint: `${tmp.root}/bad2` }), ctx),
      (e: unknown) => e instanceof InvalidMountOptionError && /^options: option "bind" is not allowed/.test(e.message),
    );
    await assert.rejects(
      new EphemeralHandler().mount(storage({ driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', options: ['fsgid=root'], mountPoint: `${tmp.root}/bad3` }), ctx),
      /options: option "fsgid=root" must be a decimal group id/,
    );
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });

  test('hugetlbfs: the pool is sized through sysfs, then mounted with pagesize and size', async (t) => {
    if (!(await kernelHasFilesystem('hugetlbfs'))) {
      t.skip('this kernel has no hugetlbfs');
      return;
    }
    // A stand-in sysfs: the real pool of this machine is left alone.
    const sysfs = join(tmp.dir, 'sys');
    const pool = join(sysfs, 'kernel/mm/hugepages/hugepages-2048kB');
    await mkdir(pool, { recursive: true });
    await writeFile(join(pool, 'nr_hugepages'), '0\n');
    const path = await new EphemeralHandler().mount(
      storage({ driver: 'ephemeral', source: 'nodev', fstype: 'hugetlbfs', mountPoint: `${tmp.root}/sandbox/ephemeral/huge`, options: ['pagesize=2097152,size=4194304'] }),
      handlerContext(tmp, { sysfsRoot: sysfs }),
    );
    assert.equal(await readFile(join(pool, 'nr_hugepages'), 'utf8'), '2');
    const m = await mountAt(path);
    assert.ok(m);
    assert.equal(m.fstype, 'hugetlbfs');
    assert.ok(m.superOptions.includes('pagesize=2M'), m.superOptions.join(','));
    assert.ok(m.superOptions.includes('size=4194304'), m.superOptions.join(','));
    unmount(path);
  });

  test('hugetlbfs: a pool that cannot be sized fails before mounting', async () => {
    await assert.rejects(
      new EphemeralHandler().mount(
        storage({ driver: 'ephemeral', source: 'nodev', fstype: 'hugetlbfs', mountPoint: `${tmp.root}/huge2`, options: ['pagesize=2097152', 'size=4194304'] }),
        handlerContext(tmp, { sysfsRoot: join(tmp.dir, 'no-sysfs') }),
      ),
      (e: unknown) => e instanceof StorageMountError && /^options: cannot allocate 2 hugepages of 2048 kB/.test(e.message),
    );
    assert.deepEqual(await mountsBelow(tmp.root), []);
  });
});

describe('hugepage options', () => {
  const expected = { pageSizeBytes: 2048n * 1024n, sizeBytes: 107374182n };
  // The cases of the Kata agent's unit test, with a page size in bytes.
  const cases: Array<[string, boolean]> = [
    ['size-1=107374182,pagesize-1=2097152', false],
    ['size-1=107374182,pagesize=2097152', false],
    ['size=107374182,pagesize-1=2097152', false],
    ['size=107374182,pagesize=abc', false],
    ['size=abc,pagesize=2097152', false],
    ['size=,pagesize=2097152', false],
    ['size=107374182,pagesize=', false],
    ['size=107374182,pagesize=2097152', true],
    ['pagesize=2097152,size=107374182', true],
    ['foo=bar,pagesize=2097152,size=107374182', true],
    ['foo=bar,pagesize=2097152,foo1=bar1,size=107374182', true],
    ['pagesize=2097152,foo1=bar1,foo=bar,size=107374182', true],
    ['foo=bar,pagesize=2097152,foo1=bar1,size=107374182,foo2=bar2', true],
    ['foo=bar,size=107374182,foo1=bar1,pagesize=2097152', true],
  ];
  for (const [input, ok] of cases) {
    test(`${ok ? 'accepted' : 'refused'}: ${input}`, () => {
      const words = input.split(',');
      if (ok) assert.deepEqual(parseHugepageOptions(words), expected);
      else assert.throws(() => parseHugepageOptions(words), StorageError);
    });
  }

  test('suffixes as hugetlbfs takes them', () => {
    assert.deepEqual(parseHugepageOptions(['pagesize=1G', 'size=2g']), { pageSizeBytes: 1n << 30n, sizeBytes: 2n << 30n });
    assert.throws(() => parseHugepageOptions(['pagesize=100', 'size=1M']), /is not a page size/);
  });

  test('allocateHugepages writes size/pagesize and reads it back', async () => {
    const tmp = await createTempRoot('kata-ts-hugepages-');
    try {
      const pool = join(tmp.dir, 'kernel/mm/hugepages/hugepages-1048576kB');
      await mkdir(pool, { recursive: true });
      await writeFile(join(pool, 'nr_hugepages'), '0');
      const r = await allocateHugepages(tmp.dir, { pageSizeBytes: 1n << 30n, sizeBytes: 3n << 30n });
      assert.equal(r.pages, 3n);
      assert.equal(await readFile(join(pool, 'nr_hugepages'), 'utf8'), '3');
    } finally {
      await tmp.cleanup();
    }
  });
});
