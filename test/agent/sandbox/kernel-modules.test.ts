// Loading kernel modules: validation, the modprobe command line (fake
// runner), and real modprobe runs in dry-run mode against a temporary
// modules directory (this machine has no /lib/modules of its own).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { loadKernelModules, validateKernelModule, type CommandRunner } from '../../../src/agent/sandbox/kernel-modules.js';
import { SandboxError } from '../../../src/agent/sandbox/errors.js';

function recordingRunner(results: Array<{ code: number | null; stderr?: string }> = []) {
  const calls: Array<[string, string[]]> = [];
  const run: CommandRunner = async (program, args) => {
    calls.push([program, [...args]]);
    const r = results.shift() ?? { code: 0 };
    return { code: r.code, signal: r.code === null ? 'SIGKILL' : null, stdout: '', stderr: r.stderr ?? '' };
  };
  return { calls, run };
}

function sandboxError(code: number, message: RegExp) {
  return (err: unknown) => err instanceof SandboxError && err.grpcCode === code && message.test(err.message);
}

const hasKmod = spawnSync('modprobe', ['--version']).status === 0 && spawnSync('depmod', ['--version']).status === 0;
const NO_KMOD = 'modprobe/depmod (Debian package kmod) are not installed';

describe('kernel modules', () => {
  test('runs modprobe -v NAME PARAMS... for each module, in order', async () => {
    const { calls, run } = recordingRunner();
    await loadKernelModules(
      [
        { name: 'virtio_net', parameters: [] },
        { name: 'loop', parameters: ['max_loop=8', 'max_part=4'] },
        { name: 'dummy-mod', parameters: ['debug', 'list=1,2,3', 'path=/x/y'] },
      ],
      { run, modprobe: '/sbin/modprobe' },
    );
    assert.deepEqual(calls, [
      ['/sbin/modprobe', ['-v', 'virtio_net']],
      ['/sbin/modprobe', ['-v', 'loop', 'max_loop=8', 'max_part=4']],
      ['/sbin/modprobe', ['-v', 'dummy-mod', 'debug', 'list=1,2,3', 'path=/x/y']],
    ]);
  });

  test('refuses bad names and parameters before running anything', async () => {
    const bad: Array<[{ name: string; parameters: string[] }, RegExp]> = [
      [{ name: '', parameters: [] }, /kernel_modules\[1\]\.name: is empty/],
      [{ name: 'evil;reboot', parameters: [] }, /kernel_modules\[1\]\.name: /],
      [{ name: '../x', parameters: [] }, /kernel_modules\[1\]\.name: /],
      [{ name: 'loop', parameters: ['a b'] }, /kernel_modules\[1\]\.parameters\[0\]: /],
      [{ name: 'loop', parameters: ['ok=1', 'x=$(reboot)'] }, /kernel_modules\[1\]\.parameters\[1\]: /],
      [{ name: 'loop', parameters: ['x=`id`'] }, /kernel_modules\[1\]\.parameters\[0\]: /],
      [{ name: 'loop', parameters: ['=value'] }, /kernel_modules\[1\]\.parameters\[0\]: /],
      [{ name: 'loop', parameters: ['x="quoted"'] }, /kernel_modules\[1\]\.parameters\[0\]: /],
      [{ name: 'loop', parameters: ['x=a|b'] }, /kernel_modules\[1\]\.parameters\[0\]: /],
    ];
    for (const [module, message] of bad) {
      const { calls, run } = recordingRunner();
      await assert.rejects(
        loadKernelModules([{ name: 'fine', parameters: [] }, module], { run }),
        sandboxError(3, new RegExp(`^create_sandbox\\.${message.source}`)),
        JSON.stringify(module),
      );
      assert.equal(calls.length, 0, 'nothing may run when any module is invalid');
    }
    assert.doesNotThrow(() => validateKernelModule({ name: 'nf_conntrack', parameters: ['hashsize=1024'] }, 0));
  });

  test('a modprobe failure stops the sequence with an INTERNAL error naming the module', async () => {
    const { calls, run } = recordingRunner([{ code: 0 }, { code: 1, stderr: 'modprobe: FATAL: Module nope not found' }]);
    await assert.rejects(
      loadKernelModules([{ name: 'a', parameters: [] }, { name: 'nope', parameters: [] }, { name: 'c', parameters: [] }], { run }),
      sandboxError(13, /^create_sandbox\.kernel_modules\[1\]: loading module nope: modprobe exited with code 1: modprobe: FATAL/),
    );
    assert.equal(calls.length, 2);
    const killed = recordingRunner([{ code: null }]);
    await assert.rejects(loadKernelModules([{ name: 'a', parameters: [] }], { run: killed.run }), sandboxError(13, /was killed by SIGKILL/));
  });

  test('a modprobe that cannot be started is an INTERNAL error', async () => {
    await assert.rejects(
      loadKernelModules([{ name: 'loop', parameters: [] }], { modprobe: '/nonexistent/modprobe' }),
      sandboxError(13, /^create_sandbox\.kernel_modules\[0\]: running \/nonexistent\/modprobe .*ENOENT/),
    );
  });

  test('real modprobe --dry-run: a known (built-in) module with parameters loads, an unknown one fails', { skip: hasKmod ? false : NO_KMOD }, async () => {
    // A modules directory of our own, with one built-in module indexed by depmod.
    const base = await mkdtemp(join(tmpdir(), 'kata-kmod-'));
    const version = '0.0.0-kata-ts-test';
    try {
      const dir = join(base, 'lib', 'modules', version);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'modules.builtin'), 'kernel/drivers/block/katafake.ko\n');
      await writeFile(join(dir, 'modules.order'), '');
      await writeFile(join(dir, 'modules.builtin.modinfo'), '');
      const depmod = spawnSync('depmod', ['-b', base, version], { encoding: 'utf8' });
      assert.equal(depmod.status, 0, depmod.stderr);

      const extraArgs = ['--dry-run', '--dirname', base, '--set-version', version];
      await loadKernelModules([{ name: 'katafake', parameters: ['max=8'] }], { extraArgs });
      await assert.rejects(
        loadKernelModules([{ name: 'katafake', parameters: [] }, { name: 'katamissing', parameters: [] }], { extraArgs }),
        sandboxError(13, /^create_sandbox\.kernel_modules\[1\]: loading module katamissing: modprobe exited with code 1: .*katamissing not found/),
      );
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
