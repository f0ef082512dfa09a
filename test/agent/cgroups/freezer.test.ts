// freeze / thaw on real cgroups: a process that counts into a file stops
// counting while frozen and goes on after the thaw.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CgroupError,
  detectCgroupLayout,
  freeze,
  freezerState,
  openCgroup,
  thaw,
  type Cgroup,
  type CgroupLayout,
} from '../../../src/agent/cgroups/index.js';
import {
  coreV2Layout,
  destroyTestCgroup,
  killChild,
  machineLayout,
  makeFakeTree,
  makeTestCgroup,
  removeFakeTree,
  spawnInCgroup,
  v1SkipReason,
  waitFor,
  type CgroupChild,
} from './helpers.js';

const layout = await machineLayout();

async function readCounter(file: string): Promise<number> {
  // The shell truncates then writes: retry over the instant the file is empty.
  return waitFor(async () => {
    const text = (await fsp.readFile(file, 'utf8').catch(() => '')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  }, `a number in ${file}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function freezeSuite(name: string, layoutOf: () => CgroupLayout | null, skip: string | undefined) {
  describe(name, { skip }, () => {
    let cg: Cgroup;
    let dir: string;
    let counter: CgroupChild | undefined;
    before(async () => {
      cg = await makeTestCgroup('freeze', layoutOf()!);
      dir = await fsp.mkdtemp(join(tmpdir(), 'kata-ts-freeze-'));
    });
    after(async () => {
      await destroyTestCgroup(cg);
      await killChild(counter);
      await fsp.rm(dir, { recursive: true, force: true });
    });

    test('a frozen cgroup stops counting; thawed, it counts on', async () => {
      const file = join(dir, 'count');
      counter = await spawnInCgroup(cg, ['sh', '-c', `i=0; while :; do i=$((i+1)); echo $i > ${file}; sleep 0.01; done`]);
      await waitFor(async () => ((await readCounter(file)) >= 3 ? true : undefined), 'the counter to start');

      await freeze(cg);
      assert.equal(await freezerState(cg), 'frozen');
      const frozenAt = await readCounter(file);
      await sleep(300);
      assert.equal(await readCounter(file), frozenAt, 'counted while frozen');

      await thaw(cg);
      assert.equal(await freezerState(cg), 'thawed');
      const after = await waitFor(async () => {
        const n = await readCounter(file);
        return n > frozenAt + 2 ? n : undefined;
      }, 'the counter to move after thaw');
      assert.ok(after > frozenAt);
    });

    test('freezing twice and thawing twice are harmless', async () => {
      await freeze(cg);
      await freeze(cg);
      assert.equal(await freezerState(cg), 'frozen');
      await thaw(cg);
      await thaw(cg);
      assert.equal(await freezerState(cg), 'thawed');
    });
  });
}

freezeSuite('freezer on real cgroup v1 (freezer.state)', () => layout, v1SkipReason(layout, 'freezer'));
freezeSuite(
  'freezer on a real cgroup2 hierarchy (cgroup.freeze, cgroup.events)',
  () => coreV2Layout(layout),
  coreV2Layout(layout) ? undefined : 'no cgroup2 here',
);

describe('freezer failures', () => {
  let root: string | undefined;
  after(async () => removeFakeTree(root));

  test('a cgroup2 that never reports frozen times out with DEADLINE_EXCEEDED; no freezer is FAILED_PRECONDITION', async () => {
    root = await makeFakeTree({
      'v2/cgroup.controllers': '',
      'v2/ctr/cgroup.freeze': '0\n',
      'v2/ctr/cgroup.events': 'populated 1\nfrozen 0\n',
      'v1/memory/cgroup.procs': '',
      'v1/memory/ctr/cgroup.procs': '',
    });
    const v2 = await openCgroup('/ctr', { layout: await detectCgroupLayout(join(root, 'v2')) });
    await assert.rejects(freeze(v2, { timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof CgroupError);
      assert.equal(err.code, 'DEADLINE_EXCEEDED');
      assert.match(err.message, /frozen 1/);
      return true;
    });
    assert.equal(await freezerState(v2), 'freezing');
    const v1 = await openCgroup('/ctr', { layout: await detectCgroupLayout(join(root, 'v1')) });
    await assert.rejects(freeze(v1), { code: 'FAILED_PRECONDITION' });
  });
});
