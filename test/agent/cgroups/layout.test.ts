import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CgroupError, cgroupOfPid, detectCgroupLayout, parseMountInfo } from '../../../src/agent/cgroups/index.js';
import { machineLayout, makeFakeTree, removeFakeTree } from './helpers.js';

describe('parseMountInfo', () => {
  test('reads mount point, root, type and super options, undoing octal escapes', () => {
    const text = [
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct',
      '41 31 0:38 /kata/x /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate',
      'garbage line',
    ].join('\n');
    const m = parseMountInfo(text);
    assert.equal(m.length, 3);
    assert.deepEqual(m[0], { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] });
    assert.deepEqual(m[1]!.superOptions, ['rw', 'cpu', 'cpuacct']);
    assert.equal(m[2]!.mountPoint, '/mnt/with space');
    assert.equal(m[2]!.root, '/kata/x');
    assert.equal(m[2]!.fsType, 'cgroup2');
  });
});

describe('detectCgroupLayout on this machine', async () => {
  const layout = await machineLayout();
  test('lists every cgroup mount that /proc/self/mountinfo shows under /sys/fs/cgroup', { skip: !layout && 'no cgroups here' }, async () => {
    const lines = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n');
    let v1Mounts = 0;
    for (const line of lines) {
      const [pre, post] = line.split(' - ');
      if (!pre || !post) continue;
      const mountPoint = pre.split(' ')[4]!;
      const [fsType, , opts] = post.split(' ');
      if (!mountPoint.startsWith('/sys/fs/cgroup/') && mountPoint !== '/sys/fs/cgroup') continue;
      if (fsType === 'cgroup2') assert.equal(layout!.unified, mountPoint);
      if (fsType === 'cgroup') {
        v1Mounts++;
        for (const c of opts!.split(',').filter((o) => ['cpu', 'memory', 'pids', 'freezer', 'blkio'].includes(o))) {
          assert.equal(layout!.v1[c], mountPoint, `controller ${c}`);
        }
      }
    }
    const expected = v1Mounts > 0 ? (layout!.unified ? 'hybrid' : 'v1') : 'v2';
    assert.equal(layout!.mode, expected);
  });
});

describe('detectCgroupLayout on fake trees', () => {
  const roots: string[] = [];
  after(async () => {
    for (const r of roots) await removeFakeTree(r);
  });

  test('a root with cgroup.controllers is a v2 (unified) host', async () => {
    const root = await makeFakeTree({ 'cgroup.controllers': 'cpuset cpu io memory hugetlb pids\n', 'cgroup.procs': '' });
    roots.push(root);
    const layout = await detectCgroupLayout(root);
    assert.equal(layout.mode, 'v2');
    assert.equal(layout.unified, root);
    assert.deepEqual(layout.v1, {});
    assert.deepEqual(layout.unifiedControllers, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']);
  });

  test('v1 directories named after controllers, co-mounts and symlinks, plus cgroup2: hybrid', async () => {
    const root = await makeFakeTree({
      'cpu,cpuacct/cgroup.procs': '',
      'memory/cgroup.procs': '',
      'systemd/cgroup.procs': '',
      'unified/cgroup.controllers': '\n',
      'not-a-cgroup/readme': 'x',
    });
    roots.push(root);
    await fsp.symlink('cpu,cpuacct', join(root, 'cpu'));
    await fsp.symlink('cpu,cpuacct', join(root, 'cpuacct'));
    const layout = await detectCgroupLayout(root);
    assert.equal(layout.mode, 'hybrid');
    assert.equal(layout.v1.cpu, join(root, 'cpu,cpuacct'));
    assert.equal(layout.v1.cpuacct, join(root, 'cpu,cpuacct'));
    assert.equal(layout.v1.memory, join(root, 'memory'));
    assert.equal(layout.v1['name=systemd'], join(root, 'systemd'));
    assert.equal(layout.unified, join(root, 'unified'));
    assert.deepEqual(layout.unifiedControllers, []);
    assert.equal(Object.keys(layout.v1).length, 4);
  });

  test('v1 only', async () => {
    const root = await makeFakeTree({ 'pids/cgroup.procs': '', 'freezer/cgroup.procs': '' });
    roots.push(root);
    const layout = await detectCgroupLayout(root);
    assert.equal(layout.mode, 'v1');
    assert.equal(layout.unified, null);
    assert.deepEqual(Object.keys(layout.v1).sort(), ['freezer', 'pids']);
  });

  test('a directory without cgroups is refused with FAILED_PRECONDITION', async () => {
    const root = await makeFakeTree({ 'something/file': 'x' });
    roots.push(root);
    await assert.rejects(detectCgroupLayout(root), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.equal(err.code, 'FAILED_PRECONDITION');
      assert.match(err.message, /no cgroup hierarchy/);
      return true;
    });
  });

  test('mounts that show a sub-tree (bind mounts, cgroup namespaces) are mapped through their root', async () => {
    const root = await makeFakeTree({
      'mountinfo': [
        `50 40 0:32 /ns/outer ${'ROOT'}/memory rw - cgroup cgroup rw,memory`,
        `51 40 0:38 / ${'ROOT'}/unified rw - cgroup2 cgroup2 rw`,
      ].join('\n'),
      'fs/memory/cgroup.procs': '',
      'fs/unified/cgroup.controllers': '',
      'proc/4242/cgroup': '4:memory:/ns/outer/pod/ctr\n0::/pod/ctr\n',
    });
    roots.push(root);
    const fsRoot = join(root, 'fs');
    const info = (await fsp.readFile(join(root, 'mountinfo'), 'utf8')).replaceAll('ROOT', fsRoot);
    await fsp.writeFile(join(root, 'mountinfo'), info);
    const layout = await detectCgroupLayout(fsRoot, { mountInfoFile: join(root, 'mountinfo') });
    assert.equal(layout.mode, 'hybrid');
    assert.deepEqual(layout.mountRoots, { [join(fsRoot, 'memory')]: '/ns/outer' });
    const cg = await cgroupOfPid(4242, { layout, procRoot: join(root, 'proc') });
    assert.equal(cg.v1Dirs.memory, join(fsRoot, 'memory', 'pod', 'ctr'));
    assert.equal(cg.v2Dir, join(fsRoot, 'unified', 'pod', 'ctr'));
  });
});
