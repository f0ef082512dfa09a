import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_SERVER_ADDR, agentServerAddr, buildKernelCmdline, buildQemuArgs, qemuOptValue, type QemuLaunchSpec } from '../../../src/runtime/qemu/cmdline.js';
import { pciPathOnRootPort, rootPortSlot } from '../../../src/runtime/qemu/pci-layout.js';

const base: QemuLaunchSpec = {
  name: 'kata-ts-sb1',
  accel: 'tcg',
  vcpus: 2,
  memoryMiB: 768,
  kernel: '/img/vmlinux',
  initrd: '/img/initrd.img',
  kernelCmdline: 'console=ttyS0',
  consoleLog: '/run/sb1/console.log',
  qmpSocket: '/run/sb1/qmp.sock',
  agentChannel: { kind: 'virtio-serial', socket: '/run/sb1/agent.sock' },
  pcieRootPorts: 2,
};

/** The value following `flag`, for every occurrence. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

test('machine, accelerator, CPU model, vCPUs, memory, kernel, initrd and the fixed options', () => {
  const tcg = buildQemuArgs(base);
  assert.deepEqual(values(tcg, '-machine'), ['q35,accel=tcg']);
  assert.deepEqual(values(tcg, '-cpu'), ['max']);
  assert.deepEqual(values(tcg, '-smp'), ['2']);
  assert.deepEqual(values(tcg, '-m'), ['768M']);
  assert.deepEqual(values(tcg, '-kernel'), ['/img/vmlinux']);
  assert.deepEqual(values(tcg, '-initrd'), ['/img/initrd.img']);
  assert.deepEqual(values(tcg, '-append'), ['console=ttyS0']);
  assert.deepEqual(values(tcg, '-serial'), ['file:/run/sb1/console.log']);
  assert.deepEqual(values(tcg, '-qmp'), ['unix:/run/sb1/qmp.sock,server=on,wait=off']);
  for (const flag of ['-nodefaults', '-no-user-config', '-no-reboot']) assert.ok(tcg.includes(flag), flag);
  assert.deepEqual(values(tcg, '-display'), ['none']);

  const kvm = buildQemuArgs({ ...base, accel: 'kvm' });
  assert.deepEqual(values(kvm, '-machine'), ['q35,accel=kvm']);
  assert.deepEqual(values(kvm, '-cpu'), ['host']);
});

test('the agent channel: virtio-serial port agent.channel.0 on a server socket', () => {
  const args = buildQemuArgs(base);
  const devices = values(args, '-device');
  assert.ok(devices.includes('virtio-serial-pci,id=serial0,bus=pcie.0,addr=0x02'));
  assert.ok(devices.includes('virtserialport,chardev=agent-chardev,id=agent-port,name=agent.channel.0,bus=serial0.0'));
  assert.ok(values(args, '-chardev').includes('socket,id=agent-chardev,path=/run/sb1/agent.sock,server=on,wait=off'));
});

test('the agent channel over vsock: a vhost-vsock device with the guest CID in the same slot, and no virtio-serial', () => {
  const args = buildQemuArgs({ ...base, agentChannel: { kind: 'vsock', guestCid: 12345 } });
  const devices = values(args, '-device');
  assert.ok(devices.includes('vhost-vsock-pci,id=vsock0,guest-cid=12345,bus=pcie.0,addr=0x02'), devices.join('\n'));
  assert.equal(devices.filter((d) => d.startsWith('virtio-serial') || d.startsWith('virtserialport')).length, 0);
  assert.equal(values(args, '-chardev').length, 0, 'no agent socket');
  // The root ports keep their slots, whatever the channel.
  assert.ok(devices.includes('pcie-root-port,id=rp0,bus=pcie.0,addr=0x03,chassis=1,slot=1'));
});

test('the agent listens where its channel leads: the serial port, or any CID on vsock port 1024', () => {
  assert.equal(agentServerAddr('virtio-serial'), AGENT_SERVER_ADDR);
  assert.equal(agentServerAddr('vsock'), 'vsock://-1:1024');
  const words = buildKernelCmdline({ agentServerAddr: agentServerAddr('vsock'), debug: false, hotplugTimeoutMs: 3000, debugConsole: false, extra: [] }).split(' ');
  assert.ok(words.includes('agent.server_addr=vsock://-1:1024'), words.join(' '));
  assert.ok(!words.some((w) => w.startsWith('agent.server_addr=serial')));
});

test('root ports at consecutive slots from 03, and the PCI paths the agent resolves', () => {
  const ports = values(buildQemuArgs({ ...base, pcieRootPorts: 3 }), '-device').filter((d) => d.startsWith('pcie-root-port'));
  assert.deepEqual(ports, [
    'pcie-root-port,id=rp0,bus=pcie.0,addr=0x03,chassis=1,slot=1',
    'pcie-root-port,id=rp1,bus=pcie.0,addr=0x04,chassis=2,slot=2',
    'pcie-root-port,id=rp2,bus=pcie.0,addr=0x05,chassis=3,slot=3',
  ]);
  assert.equal(pciPathOnRootPort(0), '03/00');
  assert.equal(pciPathOnRootPort(11), '0e/00');
  assert.throws(() => rootPortSlot(12), RangeError);
  assert.equal(values(buildQemuArgs({ ...base, pcieRootPorts: 0 }), '-device').filter((d) => d.startsWith('pcie-root-port')).length, 0);
});

test('no shared filesystem unless asked', () => {
  const args = buildQemuArgs(base);
  assert.equal(args.includes('-fsdev'), false);
  assert.equal(args.some((a) => a.includes('vhost-user-fs')), false);
  assert.equal(args.includes('-numa'), false);
});

test('virtio-9p: a local fsdev tagged kataShared at slot 0x10', () => {
  const args = buildQemuArgs({ ...base, sharedFs: { kind: 'virtio-9p', hostDir: '/run/sb1/shared' } });
  assert.deepEqual(values(args, '-fsdev'), ['local,id=fsdev-shared,path=/run/sb1/shared,security_model=none,multidevs=remap']);
  assert.ok(values(args, '-device').includes('virtio-9p-pci,fsdev=fsdev-shared,mount_tag=kataShared,bus=pcie.0,addr=0x10'));
});

test('virtio-fs: shared memfd memory of the VM size, and a vhost-user-fs device on the daemon socket', () => {
  const args = buildQemuArgs({ ...base, sharedFs: { kind: 'virtio-fs', socket: '/run/sb1/virtiofsd.sock' } });
  assert.deepEqual(values(args, '-object'), ['memory-backend-memfd,id=mem,size=768M,share=on']);
  assert.deepEqual(values(args, '-numa'), ['node,memdev=mem']);
  assert.ok(values(args, '-chardev').includes('socket,id=fs-chardev,path=/run/sb1/virtiofsd.sock'));
  assert.ok(values(args, '-device').includes('vhost-user-fs-pci,chardev=fs-chardev,tag=kataShared,bus=pcie.0,addr=0x10'));
});

test('commas in paths are doubled, as QEMU option lists require', () => {
  assert.equal(qemuOptValue('/a,b/c'), '/a,,b/c');
  const args = buildQemuArgs({ ...base, consoleLog: '/run/a,b/console.log' });
  assert.deepEqual(values(args, '-serial'), ['file:/run/a,,b/console.log']);
});

test('kernel command line: console, panic reboot, agent address and hotplug timeout, extra parameters last', () => {
  const quiet = buildKernelCmdline({ debug: false, hotplugTimeoutMs: 3000, debugConsole: false, extra: ['foo=1'] }).split(' ');
  assert.deepEqual(quiet, [
    'console=ttyS0',
    'panic=-1',
    'cryptomgr.notests',
    'quiet',
    `agent.server_addr=${AGENT_SERVER_ADDR}`,
    'agent.hotplug_timeout=3',
    'foo=1',
  ]);
  assert.equal(AGENT_SERVER_ADDR, 'serial:///dev/virtio-ports/agent.channel.0');
  const debug = buildKernelCmdline({ debug: true, hotplugTimeoutMs: 1500, debugConsole: true, extra: [] }).split(' ');
  assert.ok(!debug.includes('quiet'));
  assert.ok(debug.includes('agent.log=debug'));
  assert.ok(debug.includes('agent.hotplug_timeout=1500ms'));
  assert.ok(debug.includes('agent.debug_console'));
});
