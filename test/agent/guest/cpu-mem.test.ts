// OnlineCPUMem and MemHotplugByProbe on fake sysfs trees (this machine has
// no hot-pluggable CPUs or memory to try them on).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { memHotplugByProbe, onlineCpuMem, probeText } from '../../../src/agent/guest/cpu-mem.js';
import { GuestError } from '../../../src/agent/guest/errors.js';
import { MNT, nativeMountSyscalls } from '../../../src/agent/mount/mount.js';
import { MS } from '../../../src/agent/mount/options.js';

let work: string;
let counter = 0;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kata-cpumem-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fake sysfs: cpus and memory blocks given as "1" / "0" / null (no online file). */
async function fakeSysfs(cpus: Array<string | null>, memory: Array<string | null> = []): Promise<string> {
  const root = join(work, `sys${counter++}`);
  const cpuDir = join(root, 'devices/system/cpu');
  const memDir = join(root, 'devices/system/memory');
  await mkdir(cpuDir, { recursive: true });
  await mkdir(memDir, { recursive: true });
  // Entries that must be ignored.
  await writeFile(join(cpuDir, 'online'), '0-1\n');
  await mkdir(join(cpuDir, 'cpufreq'));
  await mkdir(join(cpuDir, 'cpuidle'));
  await writeFile(join(memDir, 'block_size_bytes'), '8000000\n');
  await mkdir(join(memDir, 'power'));
  for (const [i, state] of cpus.entries()) await addObject(cpuDir, `cpu${i}`, state);
  for (const [i, state] of memory.entries()) await addObject(memDir, `memory${i * 8}`, state);
  return root;
}

async function addObject(dir: string, name: string, state: string | null): Promise<void> {
  await mkdir(join(dir, name));
  if (state !== null) await writeFile(join(dir, name, 'online'), `${state}\n`);
}

async function state(root: string, kind: 'cpu' | 'memory', name: string): Promise<string> {
  return (await readFile(join(root, 'devices/system', kind, name, 'online'), 'utf8')).trim();
}

const noSleep = async () => {};

describe('OnlineCPUMem', () => {
  test('onlines just enough offline CPUs, lowest first, and every offline memory block', async () => {
    const root = await fakeSysfs([null, '1', '0', '0', '0'], ['1', '0', '0']);
    const res = await onlineCpuMem({ nbCpus: 3, cpuOnly: false }, { sysfsRoot: root, sleep: noSleep });
    assert.deepEqual(res, { onlineCpus: 3, onlinedCpus: ['cpu2'], onlinedMemoryBlocks: ['memory8', 'memory16'], failedMemoryBlocks: [] });
    assert.equal(await state(root, 'cpu', 'cpu2'), '1');
    assert.equal(await state(root, 'cpu', 'cpu3'), '0');
    assert.equal(await state(root, 'cpu', 'cpu4'), '0');
    for (const m of ['memory0', 'memory8', 'memory16']) assert.equal(await state(root, 'memory', m), '1');
  });

  test('does nothing to CPUs already online in number; cpu_only leaves memory alone', async () => {
    const root = await fakeSysfs([null, '1', '0'], ['0']);
    const res = await onlineCpuMem({ nbCpus: 2, cpuOnly: true }, { sysfsRoot: root, sleep: noSleep });
    assert.deepEqual(res, { onlineCpus: 2, onlinedCpus: [], onlinedMemoryBlocks: [], failedMemoryBlocks: [] });
    assert.equal(await state(root, 'cpu', 'cpu2'), '0');
    assert.equal(await state(root, 'memory', 'memory0'), '0');
  });

  test('nb_cpus 0 skips the CPU step (memory still onlined)', async () => {
    const root = await fakeSysfs([null, '0'], ['0']);
    const res = await onlineCpuMem({ nbCpus: 0, cpuOnly: false }, { sysfsRoot: root, sleep: noSleep });
    assert.equal(res.onlineCpus, undefined);
    assert.equal(await state(root, 'cpu', 'cpu1'), '0');
    assert.equal(await state(root, 'memory', 'memory0'), '1');
  });

  test('waits for hot-added CPUs that show up later', async () => {
    const root = await fakeSysfs([null, '0']);
    const cpuDir = join(root, 'devices/system/cpu');
    const sleeps: number[] = [];
    const res = await onlineCpuMem(
      { nbCpus: 4, cpuOnly: true },
      {
        sysfsRoot: root,
        retryDelayMs: 7,
        // Each pause "hot-adds" one more CPU.
        sleep: async (ms) => {
          sleeps.push(ms);
          await addObject(cpuDir, `cpu${sleeps.length + 1}`, '0');
        },
      },
    );
    assert.deepEqual(res.onlinedCpus, ['cpu1', 'cpu2', 'cpu3']);
    assert.equal(res.onlineCpus, 4);
    assert.deepEqual(sleeps, [7, 7]);
  });

  test('gives up after the attempts with an error naming nb_cpus', async () => {
    const root = await fakeSysfs([null, '0']);
    let sleeps = 0;
    await assert.rejects(
      onlineCpuMem({ nbCpus: 8, cpuOnly: true }, { sysfsRoot: root, maxAttempts: 3, sleep: async () => void sleeps++ }),
      (err: unknown) => err instanceof GuestError && err.grpcCode === 13 && /^online_cpu_mem\.nb_cpus: only 2 of the 8 CPUs wanted are online after 3 attempts$/.test(err.message),
    );
    assert.equal(sleeps, 2);
    assert.equal(await state(root, 'cpu', 'cpu1'), '1');
  });

  test('a memory block whose online file cannot be read counts as not hot-pluggable', async () => {
    const root = await fakeSysfs([null], ['0', '0']);
    const odd = join(root, 'devices/system/memory/memory0/online');
    await rm(odd);
    await mkdir(odd); // reading it fails
    const res = await onlineCpuMem({ nbCpus: 0, cpuOnly: false }, { sysfsRoot: root });
    assert.deepEqual(res.onlinedMemoryBlocks, ['memory8']);
    assert.deepEqual(res.failedMemoryBlocks, []);
  });

  test('a memory block that refuses to come online is reported and skipped (read-only bind mount)', async () => {
    const root = await fakeSysfs([null], ['0', '0']);
    const block = join(root, 'devices/system/memory/memory0');
    const sys = nativeMountSyscalls();
    sys.mount(block, block, null, MS.BIND, null);
    try {
      sys.mount(null, block, null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
      const res = await onlineCpuMem({ nbCpus: 0, cpuOnly: false }, { sysfsRoot: root });
      assert.deepEqual(res.onlinedMemoryBlocks, ['memory8']);
      assert.deepEqual(res.failedMemoryBlocks, ['memory0']);
      assert.equal(await state(root, 'memory', 'memory0'), '0');
    } finally {
      sys.umount2(block, MNT.DETACH);
    }
  });

  test('missing sysfs directories are FAILED_PRECONDITION; a bad nb_cpus is INVALID_ARGUMENT', async () => {
    const empty = join(work, 'empty-sys');
    await mkdir(empty);
    await assert.rejects(onlineCpuMem({ nbCpus: 1, cpuOnly: true }, { sysfsRoot: empty }), (err: unknown) => err instanceof GuestError && err.grpcCode === 9 && err.message.startsWith('online_cpu_mem.nb_cpus: '));
    await assert.rejects(onlineCpuMem({ nbCpus: 0, cpuOnly: false }, { sysfsRoot: empty }), (err: unknown) => err instanceof GuestError && err.grpcCode === 9);
    await assert.rejects(onlineCpuMem({ nbCpus: -1, cpuOnly: true }, { sysfsRoot: empty }), (err: unknown) => err instanceof GuestError && err.grpcCode === 3);
  });
});

describe('MemHotplugByProbe', () => {
  test('writes each address as 0x hex to the probe file', async () => {
    const root = await fakeSysfs([null]);
    const probe = join(root, 'devices/system/memory/probe');
    await writeFile(probe, '');
    await memHotplugByProbe([0x1_4000_0000n], { sysfsRoot: root });
    assert.equal(await readFile(probe, 'utf8'), '0x140000000');
    await memHotplugByProbe([0xabcn, 0x1_c000_0000], { sysfsRoot: root });
    // O_WRONLY without O_TRUNC: each write starts at offset 0; the longer last one covers the first.
    assert.equal(await readFile(probe, 'utf8'), '0x1C0000000');
    assert.equal(probeText(0xdeadbeefn), '0xDEADBEEF');
    assert.equal(probeText(0n), '0x0');
  });

  test('no probe file is FAILED_PRECONDITION; out-of-range addresses are INVALID_ARGUMENT naming the index', async () => {
    const root = await fakeSysfs([null]);
    await assert.rejects(
      memHotplugByProbe([0x1000n], { sysfsRoot: root }),
      (err: unknown) => err instanceof GuestError && err.grpcCode === 9 && err.message.startsWith('mem_hotplug_by_probe.memHotplugProbeAddr: '),
    );
    for (const bad of [-1n, 1n << 64n, -5, 2 ** 60 + 0.5]) {
      await assert.rejects(
        memHotplugByProbe([0n, bad], { sysfsRoot: root }),
        (err: unknown) => err instanceof GuestError && err.grpcCode === 3 && err.message.startsWith('mem_hotplug_by_probe.memHotplugProbeAddr[1]: '),
      );
    }
    await memHotplugByProbe([], { sysfsRoot: root }); // nothing to do, no probe file needed
  });
});
