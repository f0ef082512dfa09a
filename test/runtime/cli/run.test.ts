// `kata-ts-runtime run` as a user runs it: a busybox bundle in a fresh VM,
// stdio attached, the container's exit status as ours, nothing left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { binPath, run } from '../../helpers/processes.js';
import { busyboxSpec, createBusyboxRootfs, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { entries, IMAGE, imageMissing, waitNoProcessesMentioning } from '../helpers.js';

const RUNTIME = binPath('kata-ts-runtime');

describe('kata-ts-runtime run', () => {
  let dir: string;
  let rootfs: BusyboxRootfs;
  let root: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-run-'));
    root = join(dir, 'state');
    rootfs = await createBusyboxRootfs();
  });
  after(async () => {
    await rootfs?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  /** A bundle whose process runs `sh -c script`, and a configuration file. */
  async function bundle(name: string, script: string, configToml: string): Promise<{ bundleDir: string; configFile: string }> {
    const bundleDir = join(dir, name);
    await mkdir(bundleDir);
    await writeFile(join(bundleDir, 'config.json'), JSON.stringify(busyboxSpec({ rootfs: rootfs.rootfs, args: ['sh', '-c', script] })));
    const configFile = join(dir, `${name}.toml`);
    await writeFile(configFile, configToml);
    return { bundleDir, configFile };
  }

  async function assertNothingLeft(): Promise<void> {
    assert.deepEqual(await waitNoProcessesMentioning(root), [], 'no QEMU or virtiofsd left running');
    assert.deepEqual(await entries(root), [], 'no sandbox state left');
  }

  test('a missing bundle: status 1 (as runc) and the path in the message, before any VM', async () => {
    const res = await run(RUNTIME, ['--root', root, '--config', '/dev/null', 'run', '--bundle', join(dir, 'nope'), 'x1']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /kata-ts-runtime: cannot read .*nope\/config\.json: no such file/);
  });

  test('a bad configuration value is named by its key', async () => {
    const { bundleDir, configFile } = await bundle('badcfg', 'true', '[hypervisor.qemu]\ndefault_memory = "lots"\n');
    const res = await run(RUNTIME, ['--root', root, '--config', configFile, 'run', '--bundle', bundleDir, 'x2']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /badcfg\.toml: hypervisor\.qemu\.default_memory: /);
  });

  test('stdout, stderr, stdin and the exit status through a VM (virtio-fs); the guest kernel answers uname', { skip: imageMissing() }, async () => {
    const guestKernel = (await readFile(IMAGE.kernelVersion, 'utf8')).trim();
    const { bundleDir, configFile } = await bundle('hello', 'uname -r; cat; echo to-stderr >&2; exit 7', '[hypervisor.qemu]\nshared_fs = "virtio-fs"\n');
    const res = await run(RUNTIME, ['--root', root, '--config', configFile, 'run', '--bundle', bundleDir, 'hello'], { input: 'ping from the host\n' });
    assert.equal(res.stdout, `${guestKernel}\nping from the host\n`, res.stderr);
    assert.equal(res.stderr, 'to-stderr\n');
    assert.equal(res.code, 7);
    if (guestKernel !== release()) assert.notEqual(res.stdout.split('\n')[0], release());
    await assertNothingLeft();
  });

  test('SIGTERM is passed to the container (9p); its status becomes ours; the VM is gone after', { skip: imageMissing() }, async () => {
    const script = 'trap "echo got-term; exit 42" TERM; echo started; while :; do sleep 1; done';
    const { bundleDir, configFile } = await bundle('term', script, '[hypervisor.qemu]\nshared_fs = "virtio-9p"\n');
    const child = spawn(RUNTIME, ['--root', root, '--config', configFile, 'run', '--bundle', bundleDir, 'term'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const deadline = Date.now() + 120_000;
      while (!stdout.includes('started\n')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `no start: ${stdout} ${stderr}`);
        await sleep(50);
      }
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 42, stderr);
      assert.equal(stdout, 'started\ngot-term\n');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await assertNothingLeft();
  });
});
