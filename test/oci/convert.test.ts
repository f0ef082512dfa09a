import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as pb from '../../src/protocols/gen/oci_pb.js';
import {
  deviceCgroupFromProto,
  deviceCgroupToProto,
  lostInProto,
  processFromProto,
  processToProto,
  resourcesFromProto,
  resourcesToProto,
  specFromProto,
  specToProto,
  wildcardFromProto,
  wildcardToProto,
} from '../../src/oci/convert.js';
import { parseSpec, type Spec } from '../../src/oci/spec.js';

/** JSON -> proto -> bytes -> proto -> JSON, as a spec travels to the agent. */
function roundTrip(spec: Spec): Spec {
  const bytes = toBinary(pb.SpecSchema, specToProto(spec));
  return specFromProto(fromBinary(pb.SpecSchema, bytes));
}

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe('device cgroup wildcards', () => {
  test('JSON null or absent major/minor become -1 in the protobuf', () => {
    assert.equal(wildcardToProto(null), -1n);
    assert.equal(wildcardToProto(undefined), -1n);
    assert.equal(wildcardToProto(0), 0n);
    assert.equal(wildcardToProto(136), 136n);

    const absent = deviceCgroupToProto({ allow: true, type: 'c', access: 'rwm' });
    assert.equal(absent.Major, -1n);
    assert.equal(absent.Minor, -1n);
    const nulls = deviceCgroupToProto({ allow: false, type: 'a', major: null, minor: null, access: 'rwm' });
    assert.equal(nulls.Major, -1n);
    assert.equal(nulls.Minor, -1n);
    const pts = deviceCgroupToProto({ allow: true, type: 'c', major: 136, access: 'rwm' });
    assert.equal(pts.Major, 136n);
    assert.equal(pts.Minor, -1n);
  });

  test('-1, 0 and other negatives from the protobuf all read as "any"', () => {
    for (const n of [-1n, 0n, -5n, -(2n ** 63n)]) {
      assert.equal(wildcardFromProto(n), undefined, `value ${n}`);
    }
    assert.equal(wildcardFromProto(1n), 1);
    assert.equal(wildcardFromProto(254n), 254);
  });

  test('with zeroIsWildcard: false, 0 is a device number and negatives are still "any"', () => {
    assert.equal(wildcardFromProto(0n, { zeroIsWildcard: false }), 0);
    assert.equal(wildcardFromProto(-1n, { zeroIsWildcard: false }), undefined);
    assert.equal(wildcardFromProto(-7n, { zeroIsWildcard: false }), undefined);
  });

  test('a rule from an old Go runtime (nil sent as 0, i.e. field absent on the wire) reads as a wildcard rule', () => {
    // What the 2020 Go runtime sent for {allow: true, type: "c", major: 136, minor: nil, access: "rwm"}:
    // Minor 0 is the proto3 default, so it is not even on the wire.
    const fromGo = create(pb.LinuxDeviceCgroupSchema, { Allow: true, Type: 'c', Major: 136n, Minor: 0n, Access: 'rwm' });
    const bytes = toBinary(pb.LinuxDeviceCgroupSchema, fromGo);
    assert.deepStrictEqual([...bytes], [0x08, 0x01, 0x12, 0x01, 0x63, 0x18, 0x88, 0x01, 0x2a, 0x03, 0x72, 0x77, 0x6d]);
    const rule = deviceCgroupFromProto(fromBinary(pb.LinuxDeviceCgroupSchema, bytes));
    assert.deepStrictEqual(rule, { allow: true, type: 'c', major: 136, access: 'rwm' });
  });

  test('a deny-all rule sent with 0/0 by an old runtime, and with -1/-1 by a new one, reads the same', () => {
    const old = create(pb.LinuxDeviceCgroupSchema, { Allow: false, Type: 'a', Major: 0n, Minor: 0n, Access: 'rwm' });
    const cur = create(pb.LinuxDeviceCgroupSchema, { Allow: false, Type: 'a', Major: -1n, Minor: -1n, Access: 'rwm' });
    const expected = { allow: false, type: 'a', access: 'rwm' };
    assert.deepStrictEqual(deviceCgroupFromProto(old), expected);
    assert.deepStrictEqual(deviceCgroupFromProto(cur), expected);
    // And the JSON result is a valid rule.
    const spec = { ociVersion: '1.2.0', linux: { resources: { devices: [deviceCgroupFromProto(old)] } } };
    assert.deepStrictEqual(parseSpec(spec), spec);
  });

  test('JSON null survives as a wildcard, written back as an absent field', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      linux: { resources: { devices: [{ allow: false, type: 'a', major: null, minor: null, access: 'rwm' }] } },
    });
    assert.deepStrictEqual(roundTrip(spec).linux?.resources?.devices, [{ allow: false, type: 'a', access: 'rwm' }]);
  });

  test('minor 0 is widened to "any" by default, and kept with zeroIsWildcard: false', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      linux: { resources: { devices: [{ allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }] } },
    });
    const msg = fromBinary(pb.SpecSchema, toBinary(pb.SpecSchema, specToProto(spec)));
    assert.deepStrictEqual(specFromProto(msg).linux?.resources?.devices, [{ allow: true, type: 'c', major: 5, access: 'rwm' }]);
    assert.deepStrictEqual(specFromProto(msg, { zeroIsWildcard: false }), spec);
    assert.deepStrictEqual(lostInProto(spec), ['linux.resources.devices[0].minor']);
  });
});

describe('field mapping details', () => {
  test('seccomp errnoRet keeps its presence, including errnoRet 0', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      linux: {
        seccomp: {
          defaultAction: 'SCMP_ACT_ERRNO',
          flags: ['SECCOMP_FILTER_FLAG_LOG'],
          syscalls: [
            { names: ['a'], action: 'SCMP_ACT_ERRNO', errnoRet: 0 },
            { names: ['b'], action: 'SCMP_ACT_ERRNO' },
            { names: ['c'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
          ],
        },
      },
    });
    const msg = specToProto(spec);
    const cases = msg.Linux?.Seccomp?.Syscalls.map((s) => s.ErrnoRet.case);
    assert.deepStrictEqual(cases, ['errnoret', undefined, 'errnoret']);
    assert.deepStrictEqual(roundTrip(spec), spec);
  });

  test('JSON names map to the Go-style protobuf names', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      process: { cwd: '/w', user: { uid: 1, gid: 2, additionalGids: [3] }, oomScoreAdj: -997, noNewPrivileges: true },
      linux: {
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        resources: {
          memory: { kernelTCP: 5, disableOOMKiller: true },
          hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
          network: { classID: 7 },
          blockIO: { throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
        },
        intelRdt: { l3CacheSchema: 'L3:0=ff' },
      },
    });
    const msg = specToProto(spec);
    assert.equal(msg.Version, '1.2.0');
    assert.equal(msg.Process?.Cwd, '/w');
    assert.equal(msg.Process?.User?.UID, 1);
    assert.equal(msg.Process?.User?.GID, 2);
    assert.deepStrictEqual(msg.Process?.User?.AdditionalGids, [3]);
    assert.equal(msg.Process?.OOMScoreAdj, -997n);
    assert.equal(msg.Process?.NoNewPrivileges, true);
    assert.equal(msg.Linux?.UIDMappings[0]?.HostID, 100000);
    assert.equal(msg.Linux?.UIDMappings[0]?.ContainerID, 0);
    assert.equal(msg.Linux?.Resources?.Memory?.KernelTCP, 5n);
    assert.equal(msg.Linux?.Resources?.Memory?.DisableOOMKiller, true);
    assert.equal(msg.Linux?.Resources?.HugepageLimits[0]?.Pagesize, '2MB');
    assert.equal(msg.Linux?.Resources?.Network?.ClassID, 7);
    assert.equal(msg.Linux?.Resources?.BlockIO?.ThrottleReadIOPSDevice[0]?.Rate, 100n);
    assert.equal(msg.Linux?.IntelRdt?.L3CacheSchema, 'L3:0=ff');
    assert.deepStrictEqual(roundTrip(spec), spec);
  });

  test('FIFO devices: absent numbers travel as 0 and come back absent; uid/gid are always written', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      linux: { devices: [{ path: '/dev/fifo', type: 'p', fileMode: 4480, uid: 0, gid: 0 }, { path: '/dev/null', type: 'c', major: 1, minor: 3, uid: 0, gid: 0 }] },
    });
    const devices = specToProto(spec).Linux?.Devices ?? [];
    assert.equal(devices[0]?.Major, 0n);
    assert.equal(devices[0]?.Minor, 0n);
    assert.deepStrictEqual(roundTrip(spec), spec);
    // A device without uid/gid comes back with uid 0 / gid 0, which means the same.
    const noOwner = parseSpec({ ociVersion: '1', linux: { devices: [{ path: '/dev/zero', type: 'c', major: 1, minor: 5 }] } });
    assert.deepStrictEqual(roundTrip(noOwner).linux?.devices, [{ path: '/dev/zero', type: 'c', major: 1, minor: 5, uid: 0, gid: 0 }]);
  });

  test('64-bit extremes are exact on the wire and back', () => {
    const spec = parseSpec(JSON.parse(
      '{"ociVersion":"1","process":{"cwd":"/","rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615}]},' +
        '"linux":{"resources":{"memory":{"limit":-1,"swap":9223372036854775807},"cpu":{"quota":-9223372036854775808}}}}',
    ));
    const msg = specToProto(spec);
    assert.equal(msg.Process?.Rlimits[0]?.Hard, 2n ** 64n - 1n);
    assert.equal(msg.Linux?.Resources?.Memory?.Limit, -1n);
    assert.equal(msg.Linux?.Resources?.Memory?.Swap, 2n ** 63n - 1n);
    assert.equal(msg.Linux?.Resources?.CPU?.Quota, -(2n ** 63n));
    assert.deepStrictEqual(roundTrip(spec), spec);
  });

  test('fields the protobuf lacks are dropped, and lostInProto names them', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      domainname: 'example.org',
      vendorExtension: { a: 1 },
      process: { cwd: '/', user: { uid: 0, gid: 0, umask: 18 }, scheduler: { policy: 'SCHED_OTHER' }, ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 } },
      mounts: [{ destination: '/m', uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }],
      linux: {
        personality: { domain: 'LINUX' },
        timeOffsets: { monotonic: { secs: 1 } },
        resources: { unified: { 'memory.high': '1G' }, rdma: { mlx5_1: { hcaHandles: 3 } }, cpu: { burst: 5, idle: 1 }, memory: { useHierarchy: true } },
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1, listenerPath: '/run/s.sock' },
        intelRdt: { closID: 'guaranteed', enableCMT: true },
      },
      solaris: { milestone: 'x' },
      windows: { layerFolders: [] },
    });
    assert.deepStrictEqual(lostInProto(spec).sort(), [
      'domainname',
      'linux.intelRdt.closID',
      'linux.intelRdt.enableCMT',
      'linux.personality',
      'linux.resources.cpu.burst',
      'linux.resources.cpu.idle',
      'linux.resources.memory.useHierarchy',
      'linux.resources.rdma',
      'linux.resources.unified',
      'linux.seccomp.defaultErrnoRet',
      'linux.seccomp.listenerPath',
      'linux.timeOffsets',
      'mounts[0].uidMappings',
      'process.ioPriority',
      'process.scheduler',
      'process.user.umask',
      'solaris',
      'vendorExtension',
      'windows',
    ]);
    const msg = specToProto(spec);
    assert.equal(msg.Solaris, undefined);
    assert.equal(msg.Windows, undefined);
  });

  test('values protobuf cannot tell from absence are the documented lossy cases', () => {
    const spec = parseSpec({
      ociVersion: '1.2.0',
      hostname: '',
      annotations: {},
      root: { path: 'rootfs', readonly: false },
      mounts: [],
      process: { cwd: '/', terminal: false, args: [], oomScoreAdj: 0, capabilities: { bounding: [] } },
      linux: {
        devices: [{ path: '/dev/f', type: 'p', major: 0, minor: 0, fileMode: 0 }],
        resources: { memory: { swappiness: 0 }, blockIO: { weight: 0 } },
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, valueTwo: 0, op: 'SCMP_CMP_EQ' }] }] },
      },
    });
    assert.deepStrictEqual(lostInProto(spec).sort(), [
      'annotations',
      'hostname',
      'linux.devices[0].fileMode',
      'linux.devices[0].gid',
      'linux.devices[0].major',
      'linux.devices[0].minor',
      'linux.devices[0].uid',
      'linux.resources.blockIO.weight',
      'linux.resources.memory.swappiness',
      'linux.seccomp.syscalls[0].args[0].valueTwo',
      'mounts',
      'process.args',
      'process.capabilities.bounding',
      'process.oomScoreAdj',
      'process.terminal',
      'root.readonly',
    ]);
  });

  test('process and resources convert on their own (ExecProcess, UpdateContainer)', () => {
    const proc = { cwd: '/', args: ['sh', '-c', 'echo hi'], env: ['A=1'], user: { uid: 1000, gid: 1000 }, terminal: true, consoleSize: { height: 24, width: 80 } };
    assert.deepStrictEqual(processFromProto(fromBinary(pb.ProcessSchema, toBinary(pb.ProcessSchema, processToProto(proc)))), proc);
    const res = { cpu: { quota: 50000, period: 100000, cpus: '0-1' }, memory: { limit: 268435456 }, pids: { limit: 0 } };
    assert.deepStrictEqual(resourcesFromProto(fromBinary(pb.LinuxResourcesSchema, toBinary(pb.LinuxResourcesSchema, resourcesToProto(res)))), res);
  });
});

describe('real-world config.json files round-trip', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kata-ts-oci-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `<runtime> spec [args]` in a fresh directory and returns the parsed config.json. */
  function generatedSpec(runtime: string, args: string[], name: string): unknown {
    const where = join(dir, name);
    execFileSync('mkdir', ['-p', where]);
    execFileSync(runtime, ['spec', ...args], { cwd: where, stdio: ['ignore', 'ignore', 'pipe'] });
    return JSON.parse(readFileSync(join(where, 'config.json'), 'utf8'));
  }

  // crun writes an explicit empty inheritable capability set, which the
  // protobuf cannot tell from an absent one (both mean "no capabilities").
  const generators: { runtime: string; args: string[]; lost: string[] }[] = [
    { runtime: 'runc', args: [], lost: [] },
    { runtime: 'runc', args: ['--rootless'], lost: [] },
    { runtime: 'crun', args: [], lost: ['process.capabilities.inheritable'] },
    { runtime: 'crun', args: ['--rootless'], lost: ['process.capabilities.inheritable'] },
  ];
  for (const { runtime, args, lost } of generators) {
    test(`the config \`${[runtime, 'spec', ...args].join(' ')}\` writes round-trips`, () => {
      const json = generatedSpec(runtime, args, `${runtime}${args.join('')}`) as Record<string, any>;
      const spec = parseSpec(json);
      assert.deepStrictEqual(spec, json, 'parsing keeps every field');
      assert.ok(spec.process?.args?.length, 'the generated spec has a process');
      assert.ok(spec.linux?.namespaces?.length, 'the generated spec has namespaces');
      assert.deepStrictEqual(lostInProto(spec), lost);
      const expected = structuredClone(json);
      if (lost.length > 0) {
        assert.deepStrictEqual(expected.process.capabilities.inheritable, []);
        delete expected.process.capabilities.inheritable;
      }
      assert.deepStrictEqual(roundTrip(spec), expected);
    });
  }

  test('a Kubernetes-style config with devices, resources and seccomp round-trips except the documented cases', () => {
    const json = fixture('k8s-config.json') as Record<string, any>;
    const spec = parseSpec(json);
    // Everything the protobuf has survives; these four do not (see docs/oci.md):
    // a rule on minor 0, resources.unified and seccomp.defaultErrnoRet (not in
    // the protobuf), and an explicit valueTwo of 0.
    assert.deepStrictEqual(lostInProto(spec), [
      'linux.resources.devices[3].minor',
      'linux.resources.unified',
      'linux.seccomp.defaultErrnoRet',
      'linux.seccomp.syscalls[3].args[0].valueTwo',
    ]);
    const expected = structuredClone(spec);
    delete expected.linux!.resources!.devices![3]!.minor;
    delete expected.linux!.resources!.unified;
    delete expected.linux!.seccomp!.defaultErrnoRet;
    delete expected.linux!.seccomp!.syscalls![3]!.args![0]!.valueTwo;
    const back = roundTrip(spec);
    assert.deepStrictEqual(back, expected);
    // The u64 "unlimited" rlimit is exact, and the result is still a valid spec.
    assert.equal(back.process?.rlimits?.[1]?.hard, 18446744073709551615n);
    assert.deepStrictEqual(parseSpec(back), back);
    // With a peer known to send -1 for "any", the minor-0 rule survives too.
    const exact = specFromProto(fromBinary(pb.SpecSchema, toBinary(pb.SpecSchema, specToProto(spec))), { zeroIsWildcard: false });
    assert.deepStrictEqual(exact.linux?.resources?.devices, spec.linux?.resources?.devices);
  });
});
