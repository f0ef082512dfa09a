// Vm.start's failure paths with real QEMU: each must end with a clear error
// carrying the evidence, and leave no process, socket or file behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../../src/runtime/config/load.js';
import { AgentTimeoutError, VmBootError, VmStartError } from '../../../src/runtime/qemu/errors.js';
import { Vm } from '../../../src/runtime/qemu/vm.js';
import { VHOST_VSOCK_DEVICE } from '../../../src/runtime/qemu/agent-channel.js';
import { pino } from 'pino';
import { entries, IMAGE, kernelMissing, qemuMissing, TINY_INIT_MARKER, waitNoProcessesMentioning, writeTinyInitrd } from '../helpers.js';

describe('Vm.start failures', { skip: qemuMissing() }, () => {
  let dir: string;
  let runDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-vm-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function freshRunDir(name: string): Promise<string> {
    runDir = join(dir, name);
    await mkdir(runDir);
    return runDir;
  }

  async function assertNothingLeft(): Promise<void> {
    assert.deepEqual(await waitNoProcessesMentioning(runDir), [], 'no QEMU or virtiofsd left running');
    assert.deepEqual(await entries(runDir), [], 'no socket or console log left');
  }

  const config = (qemu: Record<string, unknown>, agent: Record<string, unknown> = {}) =>
    resolveConfig({ hypervisor: { qemu: { accel: 'tcg', shared_fs: 'virtio-9p', ...qemu } }, agent });

  test('a kernel file that is garbage: QEMU refuses it, and the error quotes QEMU', async () => {
    const kernel = join(dir, 'garbage-kernel');
    await writeFile(kernel, randomBytes(64 * 1024));
    const initrd = join(dir, 'empty-initrd');
    await writeFile(initrd, '');
    await assert.rejects(
      Vm.start({ id: 'garbage', runDir: await freshRunDir('garbage'), config: config({ kernel, initrd }) }),
      (err: unknown) => {
        assert.ok(err instanceof VmBootError, String(err));
        assert.match(err.message, /QEMU exit status 1 while VM garbage was booting/);
        assert.match(err.message, /QEMU said: .*kernel/i);
        return true;
      },
    );
    await assertNothingLeft();
  });

  const noVhostVsock = existsSync(VHOST_VSOCK_DEVICE) ? 'this host has vhost-vsock' : false;

  test('agent.channel = "vsock" on a host without vhost-vsock: a clear error before anything starts', { skip: noVhostVsock }, async () => {
    await assert.rejects(
      Vm.start({ id: 'novsock', runDir: await freshRunDir('novsock'), config: config({ kernel: IMAGE.kernel, initrd: IMAGE.initrd, shared_fs: 'virtio-fs' }, { channel: 'vsock' }), sharedDir: dir }),
      (err: unknown) => {
        assert.ok(err instanceof VmStartError, String(err));
        assert.match(err.message, /^agent\.channel = "vsock" but \/dev\/vhost-vsock is not usable: ENOENT .*set agent\.channel = "virtio-serial" or "auto"$/);
        return true;
      },
    );
    // Not even virtiofsd (which starts before QEMU) was started.
    await assertNothingLeft();
  });

  test('agent.channel = "auto" on a host without vhost-vsock: virtio-serial, logged with the reason', { skip: noVhostVsock }, async () => {
    const records: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
    const kernel = join(dir, 'garbage-kernel-auto');
    await writeFile(kernel, randomBytes(64 * 1024));
    const initrd = join(dir, 'empty-initrd-auto');
    await writeFile(initrd, '');
    // QEMU refuses the kernel at once: the channel was chosen and the command line built by then.
    await assert.rejects(Vm.start({ id: 'auto', runDir: await freshRunDir('auto'), config: config({ kernel, initrd }, { channel: 'auto' }), logger }), VmBootError);
    const chosen = records.find((r) => r.msg === 'agent channel chosen');
    assert.ok(chosen, JSON.stringify(records));
    assert.equal(chosen.channel, 'virtio-serial');
    assert.match(String(chosen.reason), /^vsock unavailable, using virtio-serial: \/dev\/vhost-vsock is not usable: ENOENT/);
    const args = (records.find((r) => r.msg === 'starting QEMU') as { args?: string[] } | undefined)?.args ?? [];
    assert.ok(args.some((a) => a.startsWith('virtserialport,')), `the virtio-serial port is on the command line: ${args.join(' ')}`);
    assert.ok(!args.some((a) => a.startsWith('vhost-vsock-pci')));
    assert.ok(args.some((a) => a.includes('agent.server_addr=serial:///dev/virtio-ports/agent.channel.0')));
    await assertNothingLeft();
  });

  test('a missing kernel file is named with its configuration key', async () => {
    await assert.rejects(
      Vm.start({ id: 'nokernel', runDir: await freshRunDir('nokernel'), config: config({ kernel: join(dir, 'absent') }) }),
      (err: unknown) => err instanceof VmStartError && /hypervisor\.qemu\.kernel: .*absent does not exist/.test(err.message),
    );
    await assertNothingLeft();
  });

  test('a guest that panics (initrd is garbage): QEMU exits, the error shows the panic', { skip: kernelMissing() }, async () => {
    const initrd = join(dir, 'garbage-initrd');
    await writeFile(initrd, randomBytes(256 * 1024));
    await assert.rejects(
      Vm.start({ id: 'panic', runDir: await freshRunDir('panic'), config: config({ kernel: IMAGE.kernel, initrd }) }),
      (err: unknown) => {
        assert.ok(err instanceof VmBootError, String(err));
        assert.match(err.message, /QEMU exit status 0 while VM panic was booting/);
        assert.match(err.message, /Kernel panic/);
        return true;
      },
    );
    await assertNothingLeft();
  });

  test('a guest whose init never starts the agent: bounded wait, then the console tail', { skip: kernelMissing() }, async () => {
    const initrd = join(dir, 'tiny-initrd');
    await writeTinyInitrd(initrd);
    await assert.rejects(
      Vm.start({ id: 'silent', runDir: await freshRunDir('silent'), config: config({ kernel: IMAGE.kernel, initrd }, { dial_timeout: 12 }) }),
      (err: unknown) => {
        assert.ok(err instanceof AgentTimeoutError, String(err));
        assert.match(err.message, /the agent in VM silent did not answer within 12 s/);
        assert.ok(err.message.includes(TINY_INIT_MARKER), `console tail in: ${err.message}`);
        return true;
      },
    );
    await assertNothingLeft();
  });
});
