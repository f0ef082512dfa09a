// containerd 1.6 (driven with ctr) running containers with each selected
// runtime (test/managers/runtimes.ts; runc is the control). One private
// containerd per runtime, an image built here from busybox; every test
// checks that its containers left nothing (tasks, shims, processes, cgroups,
// mounts, fifos, sockets), and the suite that containerd's teardown left
// nothing at all.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { containerdSkipReason, startContainerd, taskStatus, waitForTaskStatus, type Containerd } from '../helpers/containerd.js';
import { shellQuote } from './command.js';
import { buildOciImage, type OciImage } from '../helpers/oci-image.js';
import { findBusybox } from '../helpers/busybox-rootfs.js';
import { TerminalSession } from './terminal-session.js';
import { settled } from './leftovers.js';
import { containerKernel, selectedRuntimes, type ManagerRuntime } from './runtimes.js';

const IMAGE = 'docker.io/library/kata-ts-busybox:latest';
const INDEX_NAME = 'kata-ts-busybox-index';
const IMAGE_ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'IMAGE_MARKER=from-image-config'];
const IMAGE_CMD = ['/bin/sh', '-c', 'echo image-cmd-ran'];
/** A pid 1 that exits 42 on SIGTERM (a plain `sleep` as pid 1 ignores it). */
const TRAPPING_SHELL = ['sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.1; done'];

function skipReason(rt: ManagerRuntime): string | undefined {
  return containerdSkipReason() ?? (findBusybox() ? undefined : 'needs busybox (busybox-static)') ?? rt.skipReason();
}

for (const rt of selectedRuntimes()) {
  describe(`containerd + ctr with ${rt.label}`, { skip: skipReason(rt) }, () => {
    let cd: Containerd | undefined;
    let image: OciImage | undefined;

    /** ctr run flags choosing the runtime under test. */
    const runtimeArgs = (): string[] =>
      rt.kind === 'oci' ? cd!.runcArgs(rt.binary) : ['--runtime', rt.runtimeName, '--fifo-dir', cd!.fifoDir];

    before(async () => {
      image = await buildOciImage({ name: IMAGE, cmd: IMAGE_CMD, env: IMAGE_ENV });
      cd = await startContainerd({ extraPath: rt.kind === 'shim' ? rt.pathDirs : [] });
      await cd.importImage(image.tarball, { indexName: INDEX_NAME });
    });

    afterEach(async () => {
      const left = await settled(() => cd!.idleLeftovers());
      if (left.length > 0) await cd!.cleanNamespace();
      assert.deepEqual(left, [], 'the test left these behind');
    });

    after(async () => {
      try {
        await cd?.stop();
      } finally {
        await image?.cleanup();
      }
      if (cd) assert.deepEqual(await cd.leftovers(), [], 'containerd teardown left these behind');
    });

    test('the imported image is named by its annotation, and the index by --index-name', async () => {
      const r = await cd!.ctr(['images', 'ls', '-q']);
      assert.equal(r.code, 0, r.stderr);
      const names = r.stdout.split('\n').filter(Boolean).sort();
      assert.deepEqual(names, [IMAGE, INDEX_NAME].sort());
    });

    test('ctr run --rm: the container output reaches ctr stdout; uname -r names the kernel it ran on', async () => {
      const r = await cd!.ctr(['run', '--rm', ...runtimeArgs(), IMAGE, cd!.newId('echo'), 'sh', '-c', 'echo hi; uname -r']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hi\n${containerKernel(rt)}\n`);
    });

    test('ctr run returns the container exit status', async () => {
      const r = await cd!.ctr(['run', '--rm', ...runtimeArgs(), IMAGE, cd!.newId('exit'), 'sh', '-c', 'exit 7']);
      assert.equal(r.code, 7, r.stderr);
    });

    test('the image config supplies the command and the environment', async () => {
      const byCmd = await cd!.ctr(['run', '--rm', ...runtimeArgs(), IMAGE, cd!.newId('cmd')]);
      assert.equal(byCmd.code, 0, byCmd.stderr);
      assert.equal(byCmd.stdout, 'image-cmd-ran\n');
      // The index name resolves to the same image.
      const byEnv = await cd!.ctr(['run', '--rm', ...runtimeArgs(), INDEX_NAME, cd!.newId('env'), 'sh', '-c', 'echo $IMAGE_MARKER']);
      assert.equal(byEnv.code, 0, byEnv.stderr);
      assert.equal(byEnv.stdout, 'from-image-config\n');
    });

    test('a detached task: exec, ps, pause/resume, metrics, kill, delete', async () => {
      const id = cd!.newId('life');
      const run = await cd!.ctr(['run', '-d', ...runtimeArgs(), IMAGE, id, ...TRAPPING_SHELL]);
      assert.equal(run.code, 0, run.stderr);
      await waitForTaskStatus(cd!, id, 'RUNNING');

      const exec = await cd!.ctr(['tasks', 'exec', '--exec-id', 'e1', '--fifo-dir', cd!.fifoDir, id, 'sh', '-c', 'echo in-exec; exit 3']);
      assert.equal(exec.stdout, 'in-exec\n', exec.stderr);
      assert.equal(exec.code, 3, 'ctr task exec returns the exec exit status');

      const ps = await cd!.ctr(['tasks', 'ps', id]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, /^PID\s+INFO\n\d+\s/, 'ps lists at least the task process');

      const pause = await cd!.ctr(['tasks', 'pause', id]);
      assert.equal(pause.code, 0, pause.stderr);
      await waitForTaskStatus(cd!, id, 'PAUSED');
      const resume = await cd!.ctr(['tasks', 'resume', id]);
      assert.equal(resume.code, 0, resume.stderr);
      await waitForTaskStatus(cd!, id, 'RUNNING');

      const metrics = await cd!.ctr(['tasks', 'metrics', '--format', 'json', id]);
      assert.equal(metrics.code, 0, metrics.stderr);
      const m = JSON.parse(metrics.stdout) as Record<string, unknown>;
      assert.ok(['memory', 'cpu', 'pids'].some((k) => k in m), `metrics name memory, cpu or pids: ${metrics.stdout}`);
      const table = await cd!.ctr(['tasks', 'metrics', id]);
      assert.match(table.stdout, /METRIC\s+VALUE/, 'the table form prints metrics');

      const kill = await cd!.ctr(['tasks', 'kill', id]);
      assert.equal(kill.code, 0, kill.stderr);
      await waitForTaskStatus(cd!, id, 'STOPPED');
      const del = await cd!.ctr(['tasks', 'delete', id]);
      assert.equal(del.code, 0, del.stderr);
      assert.match(del.stderr, /exit code 42/, 'delete reports the exit status from the SIGTERM trap');
      const rm = await cd!.ctr(['containers', 'delete', id]);
      assert.equal(rm.code, 0, rm.stderr);
    });

    test('SIGKILL stops a task whose pid 1 ignores SIGTERM; an exec can be killed alone', async () => {
      const id = cd!.newId('kill');
      const run = await cd!.ctr(['run', '-d', ...runtimeArgs(), IMAGE, id, 'sleep', '1000']);
      assert.equal(run.code, 0, run.stderr);
      await waitForTaskStatus(cd!, id, 'RUNNING');

      const fifosBefore = new Set(await readdir(cd!.fifoDir));
      const bg = await cd!.ctr(['tasks', 'exec', '-d', '--exec-id', 'bg', '--fifo-dir', cd!.fifoDir, id, 'sleep', '1000']);
      assert.equal(bg.code, 0, bg.stderr);
      assert.equal(await processCount(cd!, id), 2, 'pid 1 and the exec');
      const killExec = await cd!.ctr(['tasks', 'kill', '--exec-id', 'bg', '--signal', 'SIGKILL', id]);
      assert.equal(killExec.code, 0, killExec.stderr);
      await waitFor(async () => (await processCount(cd!, id)) === 1, 'the exec process to go');
      assert.equal(await taskStatus(cd!, id), 'RUNNING', 'killing the exec leaves the task running');
      // Deleting an exec process makes ctr exit with its status.
      const delExec = await cd!.ctr(['tasks', 'delete', '--exec-id', 'bg', id]);
      assert.equal(delExec.code, 137, delExec.stderr);
      // ctr leaves the fifo directory of a detached exec (it removes a task's
      // own at `task delete`): that is the client's, not the runtime's, so
      // the test removes it.
      for (const f of await readdir(cd!.fifoDir)) if (!fifosBefore.has(f)) await rm(join(cd!.fifoDir, f), { recursive: true });

      const kill = await cd!.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      assert.equal(kill.code, 0, kill.stderr);
      await waitForTaskStatus(cd!, id, 'STOPPED');
      const del = await cd!.ctr(['tasks', 'delete', id]);
      assert.equal(del.code, 0, del.stderr);
      assert.match(del.stderr, /exit code 137/);
      assert.equal((await cd!.ctr(['containers', 'delete', id])).code, 0);
    });

    test('ctr run -t gives the container a terminal and returns its status', async () => {
      const id = cd!.newId('tty');
      const line = ['ctr', '--address', cd!.address, '-n', cd!.namespace, 'run', '-t', '--rm', ...runtimeArgs(), IMAGE, id, 'sh'];
      const term = new TerminalSession(line.map(shellQuote).join(' '), { ...process.env, CONTAINERD_SNAPSHOTTER: 'overlayfs' });
      try {
        const prompt = await term.expect('# ');
        term.send('tty; echo $((6*7))\n');
        const afterTty = await term.expect(/\/dev\/pts\/\d+/, { from: prompt });
        await term.expect('42', { from: afterTty });
        term.send('exit 9\n');
        assert.equal(await term.wait(), 9, term.output());
      } finally {
        await term.close();
      }
    });
  });
}

/** Number of processes `ctr task ps` lists for task `id`. */
async function processCount(cd: Containerd, id: string): Promise<number> {
  const r = await cd.ctr(['tasks', 'ps', id]);
  return r.stdout.split('\n').filter((l) => /^\d+\s/.test(l)).length;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
