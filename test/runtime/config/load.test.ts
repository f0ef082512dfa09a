import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultImageDir, loadConfig, parseConfigText, resolveConfig } from '../../../src/runtime/config/index.js';

describe('runtime configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('defaults need no file: the image from the image builder, 1 vCPU, 512 MiB, virtio-fs', () => {
    const c = resolveConfig({});
    assert.equal(c.qemu.kernel, join(defaultImageDir(), 'vmlinux'));
    assert.equal(c.qemu.initrd, join(defaultImageDir(), 'initrd.img'));
    assert.equal(c.qemu.vcpus, 1);
    assert.equal(c.qemu.memoryMiB, 512);
    assert.equal(c.qemu.sharedFs, 'virtio-fs');
    assert.equal(c.qemu.accel, 'auto');
    assert.equal(c.agent.hotplugTimeoutMs, 3000);
    assert.equal(c.agent.channel, 'auto', 'vsock when the host has it, else virtio-serial');
    assert.ok(!('vsockGuestCid' in c.agent), 'a CID is picked per VM');
    assert.equal(c.source, undefined);
  });

  test('a full file: every key read, seconds turned into milliseconds, kernel_params split', () => {
    const c = parseConfigText(
      `[hypervisor.qemu]
path = "/opt/qemu"
kernel = "/img/vmlinux"
initrd = "/img/initrd"
default_vcpus = 2
default_memory = 1024
shared_fs = "virtio-9p"
virtio_fs_daemon = "/opt/virtiofsd"
msize_9p = 262144
pcie_root_port = 6
accel = "tcg"
kernel_params = " agent.log=debug  foo=bar "
debug = true

[agent]
dial_timeout = 12.5
hotplug_timeout = 5
debug_console = true
channel = "vsock"
vsock_guest_cid = 42
`,
      'test.toml',
    );
    assert.deepEqual(c, {
      qemu: {
        path: '/opt/qemu',
        kernel: '/img/vmlinux',
        initrd: '/img/initrd',
        vcpus: 2,
        memoryMiB: 1024,
        sharedFs: 'virtio-9p',
        virtioFsDaemon: '/opt/virtiofsd',
        msize9p: 262144,
        pcieRootPorts: 6,
        accel: 'tcg',
        kernelParams: ['agent.log=debug', 'foo=bar'],
        debug: true,
      },
      agent: { dialTimeoutMs: 12500, hotplugTimeoutMs: 5000, debugConsole: true, channel: 'vsock', vsockGuestCid: 42 },
      source: 'test.toml',
    });
  });

  const rejects = (toml: string, message: RegExp) =>
    assert.throws(() => parseConfigText(toml, 'c.toml'), (err: unknown) => err instanceof ConfigError && message.test(err.message));

  test('errors name the file and the key', () => {
    rejects('[hypervisor.qemu]\ndefault_memory = "lots"\n', /^c\.toml: hypervisor\.qemu\.default_memory: /);
    rejects('[hypervisor.qemu]\ndefault_memory = 16\n', /hypervisor\.qemu\.default_memory: must be at least 64 \(MiB\)/);
    rejects('[hypervisor.qemu]\ndefault_vcpus = 1.5\n', /hypervisor\.qemu\.default_vcpus: must be an integer/);
    rejects('[hypervisor.qemu]\nshared_fs = "nfs"\n', /hypervisor\.qemu\.shared_fs: .*virtio-fs.*virtio-9p/);
    rejects('[hypervisor.qemu]\npcie_root_port = 40\n', /hypervisor\.qemu\.pcie_root_port: /);
    rejects('[agent]\ndial_timeout = 0\n', /agent\.dial_timeout: must be a positive number of seconds/);
    rejects('[hypervisor.qemu]\nkernel = ""\n', /hypervisor\.qemu\.kernel: must not be empty/);
  });

  test('the agent channel: one of three words; a vsock CID an integer from 3 (0-2 are reserved)', () => {
    for (const channel of ['auto', 'vsock', 'virtio-serial']) {
      assert.equal(parseConfigText(`[agent]\nchannel = "${channel}"\n`).agent.channel, channel);
    }
    rejects('[agent]\nchannel = "tcp"\n', /^c\.toml: agent\.channel: .*"auto".*"vsock".*"virtio-serial"/);
    rejects('[agent]\nchannel = "VSOCK"\n', /agent\.channel: /);
    rejects('[agent]\nvsock_guest_cid = 2\n', /agent\.vsock_guest_cid: must be at least 3 \(0-2 are reserved\)/);
    rejects('[agent]\nvsock_guest_cid = 3.5\n', /agent\.vsock_guest_cid: must be an integer/);
    rejects('[agent]\nvsock_guest_cid = 4294967295\n', /agent\.vsock_guest_cid: must be at most 4294967294/);
    rejects('[agent]\nvsock_guest_cid = "7"\n', /agent\.vsock_guest_cid: /);
    rejects('[agent]\nvsock_cid = 7\n', /agent\.vsock_cid: unknown key/);
    assert.equal(parseConfigText('[agent]\nvsock_guest_cid = 3\n').agent.vsockGuestCid, 3);
  });

  test('unknown keys are errors (a misspelling is not ignored)', () => {
    rejects('[hypervisor.qemu]\ndefault_vpcus = 2\n', /hypervisor\.qemu\.default_vpcus: unknown key/);
    rejects('[hypervisor.firecracker]\npath = "/x"\n', /hypervisor\.firecracker: unknown key/);
    rejects('[runtime]\nx = 1\n', /runtime: unknown key/);
  });

  test('TOML syntax errors carry line and column', () => {
    rejects('[hypervisor.qemu]\ndefault_vcpus = [1\n', /^c\.toml:\d+:\d+: /);
  });

  test('loadConfig: an explicit file must exist; its values are used', async () => {
    await assert.rejects(loadConfig(join(dir, 'absent.toml')), /cannot read configuration file .*absent\.toml/);
    const file = join(dir, 'ok.toml');
    await writeFile(file, '[hypervisor.qemu]\ndefault_memory = 768\n');
    const c = await loadConfig(file);
    assert.equal(c.qemu.memoryMiB, 768);
    assert.equal(c.source, file);
  });
});
