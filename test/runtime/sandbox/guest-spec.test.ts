import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Spec } from '../../../src/oci/spec.js';
import { guestRootfsPath, systemdCgroupsPathToFs, toGuestSpec } from '../../../src/runtime/sandbox/guest-spec.js';
import { GUEST_OWN_NETNS } from '../../../src/runtime/sandbox/guest-spec.js';
import { DEVICE_RULE_WILDCARD_ANNOTATION } from '../../../src/oci/annotations.js';
import { specFromProto, specToProto } from '../../../src/oci/convert.js';

const hostSpec = (): Spec => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', selinuxLabel: 'system_u:system_r:container_t:s0' },
  root: { path: '/var/lib/bundles/c1/rootfs', readonly: true },
  hooks: { prestart: [{ path: '/usr/bin/host-hook' }] },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] },
  ],
  linux: {
    cgroupsPath: 'system.slice:kata:c1',
    namespaces: [
      { type: 'pid', path: '/proc/42/ns/pid' },
      { type: 'network', path: '/var/run/netns/x' },
      { type: 'cgroup' },
      { type: 'ipc', path: '/proc/42/ns/ipc' },
      { type: 'uts' },
      { type: 'mount' },
    ],
    devices: [{ path: '/dev/xda', type: 'b', major: 8, minor: 16 }],
    resources: {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 16, access: 'r' }],
      memory: { limit: 1 << 28 },
      pids: { limit: 100 },
      blockIO: { weight: 10 },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      network: { classID: 1 },
    },
    seccomp: { defaultAction: 'SCMP_ACT_ALLOW' },
  },
});

test('root.path becomes the shared rootfs in the guest; readonly kept', () => {
  const { spec } = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: true });
  assert.deepEqual(spec.root, { path: '/run/kata-containers/shared/containers/c1/rootfs', readonly: true });
  assert.equal(guestRootfsPath('x'), '/run/kata-containers/shared/containers/x/rootfs');
});

test('hooks, selinux label and host-only resources go; devices and device rules stay with host numbers', () => {
  const { spec } = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: true });
  assert.equal(spec.hooks, undefined);
  assert.equal(spec.process?.selinuxLabel, undefined);
  assert.deepEqual(spec.linux?.resources, {
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 16, access: 'r' }],
    memory: { limit: 1 << 28 },
  });
  assert.deepEqual(spec.linux?.devices, [{ path: '/dev/xda', type: 'b', major: 8, minor: 16 }]);
  assert.deepEqual(spec.linux?.seccomp, { defaultAction: 'SCMP_ACT_ALLOW' });
});

test('namespaces: cgroup removed, network is the guest\'s own, paths cleared; a pid path shares the sandbox\'s only if it has one', () => {
  const { spec, sandboxPidns } = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: true, sandboxPidns: true });
  assert.deepEqual(spec.linux?.namespaces, [{ type: 'network', path: GUEST_OWN_NETNS }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }]);
  assert.equal(sandboxPidns, true);
  // Without a sandbox pid namespace (the OCI command line: a VM per container) it gets its own.
  const alone = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: true });
  assert.equal(alone.sandboxPidns, false);
  assert.deepEqual(alone.spec.linux?.namespaces?.[0], { type: 'pid' });
  const own = hostSpec();
  own.linux!.namespaces![0] = { type: 'pid' };
  const r = toGuestSpec(own, { containerId: 'c1', seccompSupported: true, sandboxPidns: true });
  assert.equal(r.sandboxPidns, false);
  assert.deepEqual(r.spec.linux?.namespaces?.[0], { type: 'pid' });
});

test('host CPU and memory-node numbers and kernel memory limits do not reach the guest', () => {
  const input = hostSpec();
  input.linux!.resources = { cpu: { cpus: '0-1', mems: '0', shares: 5 }, memory: { limit: 100, kernel: 10, kernelTCP: 20 } };
  const { spec } = toGuestSpec(input, { containerId: 'c1', seccompSupported: true });
  assert.deepEqual(spec.linux?.resources?.cpu, { shares: 5 });
  assert.deepEqual(spec.linux?.resources?.memory, { limit: 100 });
});

test('seccomp is dropped when the agent does not support it', () => {
  const { spec } = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: false });
  assert.equal(spec.linux?.seccomp, undefined);
});

test('systemd cgroups paths become filesystem paths; others are unchanged', () => {
  const { spec } = toGuestSpec(hostSpec(), { containerId: 'c1', seccompSupported: true });
  assert.equal(spec.linux?.cgroupsPath, '/kata/c1');
  assert.equal(systemdCgroupsPathToFs('/already/a/path'), '/already/a/path');
  assert.equal(systemdCgroupsPathToFs('a:b'), 'a:b');
});

test('bind mount sources are replaced by their shared guest paths; the input is not modified', () => {
  const input = hostSpec();
  const before = structuredClone(input);
  const { spec } = toGuestSpec(input, { containerId: 'c1', seccompSupported: true, mountSources: new Map([[1, '/run/kata-containers/shared/containers/c1-mount-1-data']]) });
  assert.equal(spec.mounts?.[1]?.source, '/run/kata-containers/shared/containers/c1-mount-1-data');
  assert.equal(spec.mounts?.[0]?.source, 'proc');
  assert.deepEqual(input, before);
});

test('the spec tells the agent that wildcards are sent as -1, so a rule for minor 0 survives the wire', () => {
  const input = hostSpec();
  input.linux!.resources!.devices!.push({ allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' });
  const { spec } = toGuestSpec(input, { containerId: 'c1', seccompSupported: true });
  assert.equal(spec.annotations?.[DEVICE_RULE_WILDCARD_ANNOTATION], '-1');
  const wire = specToProto(spec);
  const back = specFromProto(wire, { zeroIsWildcard: wire.Annotations[DEVICE_RULE_WILDCARD_ANNOTATION] !== '-1' });
  assert.deepEqual(back.linux?.resources?.devices?.at(-1), { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' });
});
