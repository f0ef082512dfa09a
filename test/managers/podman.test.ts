// podman 4.3 + conmon running `--rootfs` containers with each selected
// runc-compatible runtime (test/managers/runtimes.ts; runc is the control;
// shims are containerd-only and skipped here). One private podman per
// runtime; every test checks that its containers left nothing (containers,
// conmon, runtime state, cgroups, mounts), and the suite that the teardown
// left nothing at all.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBusyboxRootfs, findBusybox, type BusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { podmanSkipReason, startPodman, type Podman } from '../helpers/podman.js';
import { TerminalSession } from './terminal-session.js';
import { settled } from './leftovers.js';
import { containerKernel, selectedRuntimes, type ManagerRuntime } from './runtimes.js';

function skipReason(rt: ManagerRuntime): string | undefined {
  if (rt.kind !== 'oci') return 'podman runs OCI command line runtimes, not containerd shims';
  return podmanSkipReason() ?? (findBusybox() ? undefined : 'needs busybox (busybox-static)') ?? rt.skipReason();
}

for (const rt of selectedRuntimes()) {
  describe(`podman + conmon with ${rt.label}`, { skip: skipReason(rt) }, () => {
    let pm: Podman | undefined;
    let rootfs: BusyboxRootfs | undefined;
    /** `podman run` flags every test uses: no network, our cgroup parent, the busybox rootfs. */
    const base = (): string[] => [...pm!.runArgs(), '--rootfs', rootfs!.rootfs];

    before(async () => {
      if (rt.kind !== 'oci') return;
      rootfs = await createBusyboxRootfs();
      pm = await startPodman({ runtime: rt.binary });
    });

    afterEach(async () => {
      const left = await settled(() => pm!.idleLeftovers());
      if (left.length > 0) await pm!.podman(['rm', '--all', '--force', '--time', '0']);
      assert.deepEqual(left, [], 'the test left these behind');
    });

    after(async () => {
      try {
        await pm?.stop();
      } finally {
        await rootfs?.cleanup();
      }
      if (pm) assert.deepEqual(await pm.leftovers(), [], 'podman teardown left these behind');
    });

    test('podman run --rm --rootfs: the container output reaches podman stdout; uname -r names the kernel it ran on', async () => {
      const r = await pm!.podman(['run', '--rm', ...base(), 'sh', '-c', 'echo hi; uname -r']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hi\n${containerKernel(rt)}\n`);
    });

    test('podman run returns the container exit status', async () => {
      const r = await pm!.podman(['run', '--rm', ...base(), 'sh', '-c', 'exit 5']);
      assert.equal(r.code, 5, r.stderr);
    });

    test('run -d, exec, logs, stop, rm', async () => {
      const name = `life-${process.pid}`;
      const script = 'echo started; trap "echo got-term; exit 42" TERM; while :; do sleep 0.1; done';
      const run = await pm!.podman(['run', '-d', '--name', name, ...base(), 'sh', '-c', script]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^[0-9a-f]{64}\n$/, 'run -d prints the container id');
      assert.equal((await pm!.podman(['inspect', '--format', '{{.State.Status}}', name])).stdout.trim(), 'running');

      const exec = await pm!.podman(['exec', name, 'sh', '-c', 'echo in-exec; exit 6']);
      assert.equal(exec.stdout, 'in-exec\n', exec.stderr);
      assert.equal(exec.code, 6, 'podman exec returns the exec exit status');

      const logs = await pm!.podman(['logs', name]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^started$/m);

      const stop = await pm!.podman(['stop', '--time', '10', name]);
      assert.equal(stop.code, 0, stop.stderr);
      const state = await pm!.podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]);
      assert.equal(state.stdout.trim(), 'exited 42', 'SIGTERM reached the trap');
      assert.match((await pm!.podman(['logs', name])).stdout, /^got-term$/m);

      const rm = await pm!.podman(['rm', name]);
      assert.equal(rm.code, 0, rm.stderr);
    });

    test('run -it through a pty: a terminal inside, the exit status outside', async () => {
      const term = new TerminalSession(pm!.shellCommand(['run', '-it', '--rm', ...base(), 'sh']), pm!.env);
      try {
        const prompt = await term.expect('# ');
        term.send('tty; echo $((6*7))\n');
        const afterTty = await term.expect(/\/dev\/pts\/\d+/, { from: prompt });
        await term.expect('42', { from: afterTty });
        term.send('exit 5\n');
        assert.equal(await term.wait(), 5, term.output());
      } finally {
        await term.close();
      }
    });
  });
}
