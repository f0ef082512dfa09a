// Real cgroups on this machine: create, join, look up by pid, remove.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CgroupError,
  cgroupOfPid,
  cgroupPids,
  openCgroup,
  parseProcCgroup,
  removeCgroup,
  type Cgroup,
} from '../../../src/agent/cgroups/index.js';
import {
  destroyTestCgroup,
  killChild,
  machineLayout,
  makeTestCgroup,
  readTrimmed,
  spawnInCgroup,
  v1SkipReason,
  type CgroupChild,
} from './helpers.js';

const layout = await machineLayout();
const skip = v1SkipReason(layout, 'memory', 'cpuset', 'pids');

describe('cgroup handles on the real hierarchy', { skip }, () => {
  let cg: Cgroup | undefined;
  let child: CgroupChild | undefined;
  after(async () => {
    await killChild(child);
    if (cg) await destroyTestCgroup(cg);
  });

  test('cgroupOfPid(self) finds the directories /proc/self/cgroup names', async () => {
    const self = await cgroupOfPid(process.pid, { layout: layout! });
    const proc = parseProcCgroup(await fsp.readFile('/proc/self/cgroup', 'utf8'));
    for (const c of ['memory', 'pids', 'cpuset']) {
      const expected = join(layout!.v1[c]!, proc.v1[c]!);
      assert.equal(self.v1Dirs[c], expected.length > 1 && expected.endsWith('/') ? expected.slice(0, -1) : expected);
    }
  });

  test('createCgroup with a relative path nests under our own cgroup and makes cpuset usable', async () => {
    cg = await makeTestCgroup('life', layout!);
    const proc = parseProcCgroup(await fsp.readFile('/proc/self/cgroup', 'utf8'));
    const name = cg.path;
    assert.equal(cg.v1Dirs.memory, join(layout!.v1.memory!, proc.v1.memory!, name));
    for (const dir of cg.allDirs()) assert.ok((await fsp.stat(dir)).isDirectory(), dir);
    // A new v1 cpuset cgroup is empty; we copied the parent's CPUs and nodes.
    assert.notEqual(await readTrimmed(join(cg.v1Dirs.cpuset!, 'cpuset.cpus')), '');
    assert.notEqual(await readTrimmed(join(cg.v1Dirs.cpuset!, 'cpuset.mems')), '');
    assert.equal((await openCgroup(name, { layout: layout! })).v1Dirs.pids, cg.v1Dirs.pids);
  });

  test('addProcess moves a process into every hierarchy; cgroupOfPid and cgroupPids see it', async () => {
    assert.ok(cg);
    child = await spawnInCgroup(cg, ['sleep', '30']);
    const theirs = await cgroupOfPid(child.pid, { layout: layout! });
    for (const c of ['memory', 'pids', 'cpuset', 'freezer']) assert.equal(theirs.v1Dirs[c], cg.v1Dirs[c], c);
    assert.equal(theirs.v2Dir, cg.v2Dir);
    assert.deepEqual(await cgroupPids(cg), [child.pid]);
  });

  test('removeCgroup waits for killed tasks to leave, then removes every directory', async () => {
    assert.ok(cg && child);
    child.child.kill('SIGKILL');
    await removeCgroup(cg, { timeoutMs: 5000 });
    assert.equal(await cg.exists(), false);
    await assert.rejects(openCgroup(cg.path, { layout: layout! }), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.equal(err.code, 'NOT_FOUND');
      return true;
    });
    cg = undefined;
  });

  test('removeCgroup refuses the root cgroup', async () => {
    const root = await openCgroup('/', { layout: layout! });
    await assert.rejects(removeCgroup(root), /refusing to remove the root cgroup/);
  });

  test('cgroupOfPid of a pid that does not exist is NOT_FOUND; a bad pid INVALID_ARGUMENT', async () => {
    await assert.rejects(cgroupOfPid(2 ** 22 + 7, { layout: layout! }), { code: 'NOT_FOUND' });
    await assert.rejects(cgroupOfPid(-1, { layout: layout! }), { code: 'INVALID_ARGUMENT' });
  });
});
