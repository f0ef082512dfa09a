// The sandbox manager with a real VM (the guest image, 9p sharing): a
// container with two hot-plugged disks and a bind mount, then QEMU killed
// under it.
//
// The disks are raw image files, plugged in linux.devices order, so A is
// vda (254:0) in the guest and B is vdb (254:16). B's spec numbers are
// 254:32 and A's are 254:16, which are B's guest numbers: remapping one
// device at a time (B first) would turn A's rule into B's. The agent must
// remap both, and their cgroup rules, in one step. B's rule is read-only and
// must stay so.
//
// While the container sleeps, a process is exec'd into it: its environment,
// stdout and exit status come back through the same stdio relay, keyed by
// its exec id.
//
// No spec number has minor 0: on the wire a cgroup rule's 0 means "any"
// (upstream's Go runtime sends 0 for a wildcard), so a rule for minor 0
// cannot be sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig } from '../../../src/runtime/config/load.js';
import { VmExitedError } from '../../../src/runtime/qemu/errors.js';
import { BLOCK_SOURCE_ANNOTATION_PREFIX } from '../../../src/runtime/sandbox/block-devices.js';
import { Sandbox } from '../../../src/runtime/sandbox/sandbox.js';
import { createBusyboxRootfs, busyboxProcess, busyboxSpec, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { alive, entries, IMAGE, imageMissing, waitNoProcessesMentioning, writeRawDisk } from '../helpers.js';

// virtio-blk's major in the guest (the first dynamic block major) and the
// minors of its first two disks, vda and vdb.
const GUEST_MAJOR = 254;

describe('Sandbox with a real VM', { skip: imageMissing() }, () => {
  let dir: string;
  let rootfs: BusyboxRootfs;
  let sandbox: Sandbox | undefined;
  const runRoot = () => join(dir, 'run');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-sandbox-'));
    rootfs = await createBusyboxRootfs();
  });
  after(async () => {
    await sandbox?.destroy();
    await rootfs?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('two hot-plugged disks with crossing numbers, a read-only rule, a bind mount; then QEMU is killed', async () => {
    const diskA = join(dir, 'a.img');
    const diskB = join(dir, 'b.img');
    await writeRawDisk(diskA, 4, 'AAAAAAAA');
    await writeRawDisk(diskB, 4, 'BBBBBBBB');
    const hostData = join(dir, 'data');
    await mkdir(hostData);
    await writeFile(join(hostData, 'hello'), 'bind-mounted\n');

    const script = [
      'for d in /dev/xda /dev/xdb; do echo "$d $(stat -c %t:%T $d) $(head -c 8 $d)"; done',
      'echo written | dd of=/dev/xda bs=8 seek=1 conv=notrunc,fsync 2>/dev/null && echo xda-write-ok || echo xda-write-denied',
      'echo x | dd of=/dev/xdb conv=notrunc 2>/dev/null && echo xdb-write-ok || echo xdb-write-denied',
      'cat /data/hello',
      'echo done',
      'sleep 1000',
    ].join('; ');
    const spec = busyboxSpec({ rootfs: rootfs.rootfs, args: ['sh', '-c', script] });
    spec.linux!.devices = [
      { path: '/dev/xda', type: 'b', major: GUEST_MAJOR, minor: 16, fileMode: 0o660, uid: 0, gid: 0 },
      { path: '/dev/xdb', type: 'b', major: GUEST_MAJOR, minor: 32, fileMode: 0o660, uid: 0, gid: 0 },
    ];
    spec.linux!.resources!.devices!.push(
      { allow: true, type: 'b', major: GUEST_MAJOR, minor: 16, access: 'rw' },
      { allow: true, type: 'b', major: GUEST_MAJOR, minor: 32, access: 'r' },
    );
    spec.annotations = { [`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xda`]: diskA, [`${BLOCK_SOURCE_ANNOTATION_PREFIX}/dev/xdb`]: diskB };
    spec.mounts!.push({ destination: '/data', type: 'bind', source: hostData, options: ['rbind', 'ro'] });

    const config = resolveConfig({ hypervisor: { qemu: { shared_fs: 'virtio-9p' } } });
    sandbox = await Sandbox.create({ id: 'disks', config, runRoot: runRoot() });
    const runDir = sandbox.runDir;
    await sandbox.createContainer({ id: 'c1', spec, bundleDir: dir });
    await sandbox.startContainer('c1');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const io = sandbox.attach('c1', { stdout, stderr });
    io.outputDone.catch(() => {});
    const waited = sandbox.waitProcess('c1');
    waited.catch(() => {});

    const deadline = Date.now() + 60_000;
    while (!out.includes('done\n')) {
      assert.ok(Date.now() < deadline, `container output so far: ${out} / ${err}`);
      await sleep(50);
    }
    const lines = out.trim().split('\n');
    // stat prints hex numbers: fe = 254.
    assert.equal(lines[0], '/dev/xda fe:0 AAAAAAAA');
    assert.equal(lines[1], '/dev/xdb fe:10 BBBBBBBB');
    assert.equal(lines[2], 'xda-write-ok');
    assert.equal(lines[3], 'xdb-write-denied');
    assert.equal(lines[4], 'bind-mounted');
    assert.equal((await readFile(diskA)).subarray(8, 16).toString('latin1'), 'written\n');
    assert.equal((await readFile(diskB)).subarray(0, 8).toString('latin1'), 'BBBBBBBB');

    // An exec into the running container.
    const execProcess = busyboxProcess({ args: ['sh', '-c', 'echo $FOO; uname -r; exit 3'] });
    execProcess.env = [...(execProcess.env ?? []), 'FOO=bar'];
    await sandbox.execProcess('c1', 'e1', execProcess);
    const execOut = new PassThrough();
    const execErr = new PassThrough();
    let eout = '';
    let eerr = '';
    execOut.setEncoding('utf8').on('data', (d: string) => (eout += d));
    execErr.setEncoding('utf8').on('data', (d: string) => (eerr += d));
    const execIo = sandbox.attach('c1', { execId: 'e1', stdout: execOut, stderr: execErr });
    assert.equal(await sandbox.waitProcess('c1', 'e1'), 3);
    await execIo.outputDone;
    const kernelVersion = (await readFile(IMAGE.kernelVersion, 'utf8')).trim();
    assert.equal(eout, `bar\n${kernelVersion}\n`, `exec stderr: ${eerr}`);
    assert.equal(eerr, '');
    // Once waited for, the exec is gone; unknown containers and execs are named.
    assert.throws(() => sandbox!.attach('c1', { execId: 'e1', stdout: execOut, stderr: execErr }), /no exec e1 in container c1 of sandbox disks/);
    await assert.rejects(sandbox.execProcess('nope', 'e2', execProcess), /no container nope in sandbox disks/);
    await assert.rejects(sandbox.execProcess('c1', 'e2', { args: 'sh' }), /process\.args/);
    assert.equal(out.trim().split('\n').length, 6, 'the exec wrote nothing to the container\'s own stdout');

    // QEMU dies under the running container.
    const pid = sandbox.vm.pid!;
    process.kill(pid, 'SIGKILL');
    await assert.rejects(waited, (e: unknown) => {
      assert.ok(e instanceof VmExitedError, String(e));
      assert.match(e.message, /QEMU \(pid \d+\) was killed by SIGKILL while in use/);
      return true;
    });
    await assert.rejects(sandbox.startContainer('c1'), VmExitedError);

    await sandbox.destroy();
    sandbox = undefined;
    assert.equal(alive(pid), false);
    assert.deepEqual(await waitNoProcessesMentioning(runDir), []);
    assert.deepEqual(await entries(runRoot()), [], 'the sandbox directory is gone');
    assert.equal(await readFile(join(hostData, 'hello'), 'utf8'), 'bind-mounted\n', 'the bind source is untouched');
    assert.ok((await entries(rootfs.rootfs)).includes('bin'), 'the rootfs is untouched');
  });
});
