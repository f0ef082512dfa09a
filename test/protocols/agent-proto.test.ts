// Wire-level facts about the agent protocol, checked against the generated
// descriptors: field numbers and types that must match upstream Kata, the
// AgentService and Health method sets, a full CreateContainerRequest round
// trip, and hand-encoded byte vectors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScalarType,
  create,
  equals,
  fromBinary,
  toBinary,
  type DescField,
  type DescMessage,
  type DescService,
} from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import * as agent from '../../src/protocols/gen/agent_pb.js';
import * as health from '../../src/protocols/gen/health_pb.js';
import * as types from '../../src/protocols/gen/types_pb.js';

// ---------------------------------------------------------------------------
// Helpers: describe a message layout as "name=number:type" strings.
// ---------------------------------------------------------------------------

function scalarName(t: ScalarType): string {
  return ScalarType[t].toLowerCase();
}

function typeOf(f: DescField): string {
  switch (f.fieldKind) {
    case 'scalar':
      return scalarName(f.scalar);
    case 'enum':
      return f.enum.typeName;
    case 'message':
      return f.message.typeName;
    case 'list':
      if (f.listKind === 'scalar') return `repeated ${scalarName(f.scalar)}`;
      if (f.listKind === 'enum') return `repeated ${f.enum.typeName}`;
      return `repeated ${f.message.typeName}`;
    case 'map': {
      const value =
        f.mapKind === 'scalar'
          ? scalarName(f.scalar)
          : f.mapKind === 'enum'
            ? f.enum.typeName
            : f.message.typeName;
      return `map<${scalarName(f.mapKey)},${value}>`;
    }
  }
}

function layout(schema: DescMessage): string[] {
  return schema.fields.map((f) => {
    const optional = f.proto.proto3Optional ? 'optional ' : '';
    const oneof = f.oneof ? ` (oneof ${f.oneof.name})` : '';
    return `${f.name}=${f.number}:${optional}${typeOf(f)}${oneof}`;
  });
}

function assertLayout(schema: DescMessage, want: string[]): void {
  assert.deepEqual(layout(schema), want, `layout of ${schema.typeName}`);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// ---------------------------------------------------------------------------
// Field numbers and types
// ---------------------------------------------------------------------------

describe('agent.proto message layouts match upstream Kata', () => {
  test('files declare the upstream packages', () => {
    assert.equal(agent.file_agent.proto.package, 'grpc');
    assert.equal(health.file_health.proto.package, 'grpc');
    assert.equal(types.file_types.proto.package, 'types');
    assert.deepEqual(
      agent.file_agent.dependencies.map((d) => d.name).sort(),
      ['google/protobuf/empty', 'oci', 'types'],
    );
  });

  test('CreateContainerRequest: OCI is field 6, runtime-rs ports are 9-11', () => {
    assertLayout(agent.CreateContainerRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'string_user=3:grpc.StringUser',
      'devices=4:repeated grpc.Device',
      'storages=5:repeated grpc.Storage',
      'OCI=6:grpc.Spec',
      'sandbox_pidns=7:bool',
      'shared_mounts=8:repeated grpc.SharedMount',
      'stdin_port=9:uint32',
      'stdout_port=10:uint32',
      'stderr_port=11:uint32',
    ]);
  });

  test('ExecProcessRequest carries a bare oci Process at 4', () => {
    assertLayout(agent.ExecProcessRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'string_user=3:grpc.StringUser',
      'process=4:grpc.Process',
      'stdin_port=5:uint32',
      'stdout_port=6:uint32',
      'stderr_port=7:uint32',
    ]);
    assertLayout(agent.UpdateContainerRequestSchema, [
      'container_id=1:string',
      'resources=2:grpc.LinuxResources',
    ]);
  });

  test('Storage.fs_group is 7 and FSGroup.group_id is 2 (there is no field 1)', () => {
    assertLayout(agent.StorageSchema, [
      'driver=1:string',
      'driver_options=2:repeated string',
      'source=3:string',
      'fstype=4:string',
      'options=5:repeated string',
      'mount_point=6:string',
      'fs_group=7:grpc.FSGroup',
      'shared=8:bool',
    ]);
    assertLayout(agent.FSGroupSchema, [
      'group_id=2:uint32',
      'group_change_policy=3:types.FSGroupChangePolicy',
    ]);
    assert.equal(types.FSGroupChangePolicy.Always, 0);
    assert.equal(types.FSGroupChangePolicy.OnRootMismatch, 1);
  });

  test('Device, StringUser and SharedMount', () => {
    assertLayout(agent.DeviceSchema, [
      'id=1:string',
      'type=2:string',
      'vm_path=3:string',
      'container_path=4:string',
      'options=5:repeated string',
    ]);
    assertLayout(agent.StringUserSchema, [
      'uid=1:string',
      'gid=2:string',
      'additionalGids=3:repeated string',
    ]);
    assertLayout(agent.SharedMountSchema, [
      'name=1:string',
      'src_ctr=2:string',
      'src_path=3:string',
      'dst_ctr=4:string',
      'dst_path=5:string',
    ]);
  });

  test('ReseedRandomDevRequest.data is field 2', () => {
    assertLayout(agent.ReseedRandomDevRequestSchema, ['data=2:bytes']);
  });

  test('GuestDetailsResponse.agent_details is 2; AgentDetails has 6 fields', () => {
    assertLayout(agent.GuestDetailsRequestSchema, [
      'mem_block_size=1:bool',
      'mem_hotplug_probe=2:bool',
    ]);
    assertLayout(agent.GuestDetailsResponseSchema, [
      'mem_block_size_bytes=1:uint64',
      'agent_details=2:grpc.AgentDetails',
      'support_mem_hotplug_probe=3:bool',
    ]);
    assertLayout(agent.AgentDetailsSchema, [
      'version=1:string',
      'init_daemon=2:bool',
      'device_handlers=3:repeated string',
      'storage_handlers=4:repeated string',
      'supports_seccomp=5:bool',
      'extra_features=6:repeated string',
    ]);
  });

  test('CopyFileRequest fields 1-8', () => {
    assertLayout(agent.CopyFileRequestSchema, [
      'path=1:string',
      'file_size=2:int64',
      'file_mode=3:uint32',
      'dir_mode=4:uint32',
      'uid=5:int32',
      'gid=6:int32',
      'offset=7:int64',
      'data=8:bytes',
    ]);
  });

  test('process and stream requests', () => {
    assertLayout(agent.WaitProcessRequestSchema, ['container_id=1:string', 'exec_id=2:string']);
    assertLayout(agent.WaitProcessResponseSchema, ['status=1:int32']);
    assertLayout(agent.SignalProcessRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'signal=3:uint32',
    ]);
    assertLayout(agent.ReadStreamRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'len=3:uint32',
    ]);
    assertLayout(agent.ReadStreamResponseSchema, ['data=1:bytes']);
    assertLayout(agent.WriteStreamRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'data=3:bytes',
    ]);
    assertLayout(agent.WriteStreamResponseSchema, ['len=1:uint32']);
    assertLayout(agent.TtyWinResizeRequestSchema, [
      'container_id=1:string',
      'exec_id=2:string',
      'row=3:uint32',
      'column=4:uint32',
    ]);
    assertLayout(agent.RemoveContainerRequestSchema, [
      'container_id=1:string',
      'timeout=2:uint32',
    ]);
  });

  test('2020-only ListProcesses messages keep their 2020 layout', () => {
    assertLayout(agent.ListProcessesRequestSchema, [
      'container_id=1:string',
      'format=2:string',
      'args=3:repeated string',
    ]);
    assertLayout(agent.ListProcessesResponseSchema, ['process_list=1:bytes']);
    assertLayout(agent.StartTracingRequestSchema, []);
    assertLayout(agent.StopTracingRequestSchema, []);
  });

  test('sandbox and guest requests', () => {
    assertLayout(agent.CreateSandboxRequestSchema, [
      'hostname=1:string',
      'dns=2:repeated string',
      'storages=3:repeated grpc.Storage',
      'sandbox_pidns=4:bool',
      'sandbox_id=5:string',
      'guest_hook_path=6:string',
      'kernel_modules=7:repeated grpc.KernelModule',
    ]);
    assertLayout(agent.KernelModuleSchema, ['name=1:string', 'parameters=2:repeated string']);
    assertLayout(agent.OnlineCPUMemRequestSchema, [
      'wait=1:bool',
      'nb_cpus=2:uint32',
      'cpu_only=3:bool',
    ]);
    assertLayout(agent.MemHotplugByProbeRequestSchema, ['memHotplugProbeAddr=1:repeated uint64']);
    assertLayout(agent.SetGuestDateTimeRequestSchema, ['Sec=1:int64', 'Usec=2:int64']);
    assertLayout(agent.AddSwapRequestSchema, ['PCIPath=1:repeated uint32']);
    assertLayout(agent.OOMEventSchema, ['container_id=1:string']);
    assertLayout(agent.SetIPTablesRequestSchema, ['is_ipv6=1:bool', 'data=2:bytes']);
  });

  test('mem-agent configs use proto3 optional fields', () => {
    assertLayout(agent.MemAgentMemcgConfigSchema, [
      'disabled=1:optional bool',
      'swap=2:optional bool',
      'swappiness_max=3:optional uint32',
      'period_secs=4:optional uint64',
      'period_psi_percent_limit=5:optional uint32',
      'eviction_psi_percent_limit=6:optional uint32',
      'eviction_run_aging_count_min=7:optional uint64',
    ]);
    assert.equal(agent.MemAgentCompactConfigSchema.fields.length, 8);
    assert.ok(agent.MemAgentCompactConfigSchema.fields.every((f) => f.proto.proto3Optional));
    assert.equal(agent.MemAgentCompactConfigSchema.field.compactSecMax.scalar, ScalarType.INT64);
  });

  test('statistics messages', () => {
    assertLayout(agent.StatsContainerResponseSchema, [
      'cgroup_stats=1:grpc.CgroupStats',
      'network_stats=2:repeated grpc.NetworkStats',
    ]);
    assertLayout(agent.CgroupStatsSchema, [
      'cpu_stats=1:grpc.CpuStats',
      'memory_stats=2:grpc.MemoryStats',
      'pids_stats=3:grpc.PidsStats',
      'blkio_stats=4:grpc.BlkioStats',
      'hugetlb_stats=5:map<string,grpc.HugetlbStats>',
    ]);
    assertLayout(agent.MemoryStatsSchema, [
      'cache=1:uint64',
      'usage=2:grpc.MemoryData',
      'swap_usage=3:grpc.MemoryData',
      'kernel_usage=4:grpc.MemoryData',
      'use_hierarchy=5:bool',
      'stats=6:map<string,uint64>',
    ]);
    assert.deepEqual(
      agent.BlkioStatsSchema.fields.map((f) => f.number),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(
      layout(agent.NetworkStatsSchema).map((s) => s.split(':')[0]),
      [
        'name=1',
        'rx_bytes=2',
        'rx_packets=3',
        'rx_errors=4',
        'rx_dropped=5',
        'tx_bytes=6',
        'tx_packets=7',
        'tx_errors=8',
        'tx_dropped=9',
      ],
    );
  });

  test('volume statistics keep their CSI shape in package grpc', () => {
    assert.equal(agent.VolumeStatsResponseSchema.typeName, 'grpc.VolumeStatsResponse');
    assertLayout(agent.VolumeStatsResponseSchema, [
      'usage=1:repeated grpc.VolumeUsage',
      'volume_condition=2:grpc.VolumeCondition',
    ]);
    assertLayout(agent.VolumeUsageSchema, [
      'available=1:uint64',
      'total=2:uint64',
      'used=3:uint64',
      'unit=4:grpc.VolumeUsage.Unit',
    ]);
  });
});

describe('types.proto layouts match upstream Kata', () => {
  test('Interface field 6 is the device path string', () => {
    assertLayout(types.InterfaceSchema, [
      'device=1:string',
      'name=2:string',
      'IPAddresses=3:repeated types.IPAddress',
      'mtu=4:uint64',
      'hwAddr=5:string',
      'devicePath=6:string',
      'type=7:string',
      'raw_flags=8:uint32',
    ]);
  });

  test('Route has family=6, flags=7, mtu=8', () => {
    assertLayout(types.RouteSchema, [
      'dest=1:string',
      'gateway=2:string',
      'device=3:string',
      'source=4:string',
      'scope=5:uint32',
      'family=6:types.IPFamily',
      'flags=7:uint32',
      'mtu=8:uint32',
    ]);
  });

  test('IPAddress, ARPNeighbor and IPFamily', () => {
    assertLayout(types.IPAddressSchema, [
      'family=1:types.IPFamily',
      'address=2:string',
      'mask=3:string',
    ]);
    assertLayout(types.ARPNeighborSchema, [
      'toIPAddress=1:types.IPAddress',
      'device=2:string',
      'lladdr=3:string',
      'state=4:int32',
      'flags=5:int32',
    ]);
    assert.equal(types.IPFamily.v4, 0);
    assert.equal(types.IPFamily.v6, 1);
    assertLayout(agent.InterfacesSchema, ['Interfaces=1:repeated types.Interface']);
    assertLayout(agent.RoutesSchema, ['Routes=1:repeated types.Route']);
    assertLayout(agent.ARPNeighborsSchema, ['ARPNeighbors=1:repeated types.ARPNeighbor']);
    assertLayout(agent.AddARPNeighborsRequestSchema, ['neighbors=1:grpc.ARPNeighbors']);
  });
});

// ---------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------

const EMPTY = 'google.protobuf.Empty';

// RPC name -> [request type, response type]; the full upstream HEAD set plus
// the three 2020-only RPCs.
const agentMethods: Record<string, [string, string]> = {
  CreateContainer: ['grpc.CreateContainerRequest', EMPTY],
  StartContainer: ['grpc.StartContainerRequest', EMPTY],
  RemoveContainer: ['grpc.RemoveContainerRequest', EMPTY],
  ExecProcess: ['grpc.ExecProcessRequest', EMPTY],
  SignalProcess: ['grpc.SignalProcessRequest', EMPTY],
  WaitProcess: ['grpc.WaitProcessRequest', 'grpc.WaitProcessResponse'],
  ListProcesses: ['grpc.ListProcessesRequest', 'grpc.ListProcessesResponse'],
  UpdateContainer: ['grpc.UpdateContainerRequest', EMPTY],
  UpdateEphemeralMounts: ['grpc.UpdateEphemeralMountsRequest', EMPTY],
  StatsContainer: ['grpc.StatsContainerRequest', 'grpc.StatsContainerResponse'],
  PauseContainer: ['grpc.PauseContainerRequest', EMPTY],
  ResumeContainer: ['grpc.ResumeContainerRequest', EMPTY],
  RemoveStaleVirtiofsShareMounts: ['grpc.RemoveStaleVirtiofsShareMountsRequest', EMPTY],
  GetDiagnosticData: ['grpc.GetDiagnosticDataRequest', 'grpc.GetDiagnosticDataResponse'],
  WriteStdin: ['grpc.WriteStreamRequest', 'grpc.WriteStreamResponse'],
  ReadStdout: ['grpc.ReadStreamRequest', 'grpc.ReadStreamResponse'],
  ReadStderr: ['grpc.ReadStreamRequest', 'grpc.ReadStreamResponse'],
  CloseStdin: ['grpc.CloseStdinRequest', EMPTY],
  TtyWinResize: ['grpc.TtyWinResizeRequest', EMPTY],
  UpdateInterface: ['grpc.UpdateInterfaceRequest', 'types.Interface'],
  UpdateRoutes: ['grpc.UpdateRoutesRequest', 'grpc.Routes'],
  ListInterfaces: ['grpc.ListInterfacesRequest', 'grpc.Interfaces'],
  ListRoutes: ['grpc.ListRoutesRequest', 'grpc.Routes'],
  AddARPNeighbors: ['grpc.AddARPNeighborsRequest', EMPTY],
  GetIPTables: ['grpc.GetIPTablesRequest', 'grpc.GetIPTablesResponse'],
  SetIPTables: ['grpc.SetIPTablesRequest', 'grpc.SetIPTablesResponse'],
  GetMetrics: ['grpc.GetMetricsRequest', 'grpc.Metrics'],
  StartTracing: ['grpc.StartTracingRequest', EMPTY],
  StopTracing: ['grpc.StopTracingRequest', EMPTY],
  MemAgentMemcgSet: ['grpc.MemAgentMemcgConfig', EMPTY],
  MemAgentCompactSet: ['grpc.MemAgentCompactConfig', EMPTY],
  CreateSandbox: ['grpc.CreateSandboxRequest', EMPTY],
  DestroySandbox: ['grpc.DestroySandboxRequest', EMPTY],
  OnlineCPUMem: ['grpc.OnlineCPUMemRequest', EMPTY],
  ReseedRandomDev: ['grpc.ReseedRandomDevRequest', EMPTY],
  GetGuestDetails: ['grpc.GuestDetailsRequest', 'grpc.GuestDetailsResponse'],
  MemHotplugByProbe: ['grpc.MemHotplugByProbeRequest', EMPTY],
  SetGuestDateTime: ['grpc.SetGuestDateTimeRequest', EMPTY],
  CopyFile: ['grpc.CopyFileRequest', EMPTY],
  GetOOMEvent: ['grpc.GetOOMEventRequest', 'grpc.OOMEvent'],
  AddSwap: ['grpc.AddSwapRequest', EMPTY],
  AddSwapPath: ['grpc.AddSwapPathRequest', EMPTY],
  GetVolumeStats: ['grpc.VolumeStatsRequest', 'grpc.VolumeStatsResponse'],
  ResizeVolume: ['grpc.ResizeVolumeRequest', EMPTY],
  SetPolicy: ['grpc.SetPolicyRequest', EMPTY],
};

function methodTable(service: DescService): Record<string, [string, string]> {
  const table: Record<string, [string, string]> = {};
  for (const m of service.methods) {
    assert.equal(m.methodKind, 'unary', `${service.typeName}/${m.name} must be unary`);
    table[m.name] = [m.input.typeName, m.output.typeName];
  }
  return table;
}

describe('services', () => {
  test('AgentService is grpc.AgentService with the expected 45 unary methods', () => {
    assert.equal(agent.AgentService.typeName, 'grpc.AgentService');
    assert.equal(Object.keys(agentMethods).length, 45);
    assert.deepEqual(methodTable(agent.AgentService), agentMethods);
  });

  test('Empty results are google.protobuf.Empty from the well-known types', () => {
    const createContainer = agent.AgentService.methods.find((m) => m.name === 'CreateContainer');
    assert.equal(createContainer?.output, EmptySchema);
  });

  test('Health is grpc.Health with Check and Version', () => {
    assert.equal(health.Health.typeName, 'grpc.Health');
    assert.deepEqual(methodTable(health.Health), {
      Check: ['grpc.CheckRequest', 'grpc.HealthCheckResponse'],
      Version: ['grpc.CheckRequest', 'grpc.VersionCheckResponse'],
    });
    assertLayout(health.CheckRequestSchema, ['service=1:string']);
    assertLayout(health.HealthCheckResponseSchema, [
      'status=1:grpc.HealthCheckResponse.ServingStatus',
    ]);
    assertLayout(health.VersionCheckResponseSchema, [
      'grpc_version=1:string',
      'agent_version=2:string',
    ]);
    assert.equal(health.HealthCheckResponse_ServingStatus.UNKNOWN, 0);
    assert.equal(health.HealthCheckResponse_ServingStatus.SERVING, 1);
    assert.equal(health.HealthCheckResponse_ServingStatus.NOT_SERVING, 2);
  });
});

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

function sampleCreateContainerRequest(): agent.CreateContainerRequest {
  const cid = 'c0ffee';
  return create(agent.CreateContainerRequestSchema, {
    containerId: cid,
    execId: cid,
    stringUser: { uid: '1000', gid: '1000', additionalGids: ['10', 'audio'] },
    devices: [
      { id: '02/01', type: 'blk', vmPath: '/dev/vdb', containerPath: '/dev/xvda' },
      { type: 'vfio-pci', id: '17', options: ['0000:3b:00.0=02/03'], containerPath: '/dev/vfio/17' },
    ],
    storages: [
      {
        driver: 'blk',
        source: '02/02',
        fstype: 'ext4',
        options: ['rw', 'noatime'],
        mountPoint: `/run/kata-containers/shared/containers/${cid}`,
        fsGroup: { groupId: 2000, groupChangePolicy: types.FSGroupChangePolicy.OnRootMismatch },
      },
      {
        driver: 'ephemeral',
        source: 'tmpfs',
        fstype: 'tmpfs',
        driverOptions: ['x=y'],
        mountPoint: '/run/kata-containers/sandbox/ephemeral/cache',
        shared: true,
      },
    ],
    OCI: {
      Version: '1.0.2',
      Hostname: 'pod-a',
      Annotations: { 'io.kubernetes.cri.container-type': 'container' },
      Root: { Path: `/run/kata-containers/shared/containers/${cid}/rootfs`, Readonly: false },
      Process: {
        Terminal: true,
        ConsoleSize: { Height: 24, Width: 80 },
        User: { UID: 1000, GID: 1000, AdditionalGids: [10, 20] },
        Args: ['/bin/sh', '-c', 'echo hi'],
        Env: ['PATH=/usr/bin:/bin', 'TERM=xterm'],
        Cwd: '/',
        Capabilities: { Bounding: ['CAP_CHOWN'], Effective: ['CAP_CHOWN'] },
        Rlimits: [{ Type: 'RLIMIT_NOFILE', Hard: 1024n, Soft: 1024n }],
        NoNewPrivileges: true,
        OOMScoreAdj: -999n,
      },
      Mounts: [
        { destination: '/proc', source: 'proc', type: 'proc', options: ['nosuid'] },
        { destination: '/dev/shm', source: '/run/kata-containers/sandbox/shm', type: 'bind', options: ['rbind'] },
      ],
      Hooks: { CreateRuntime: [{ Path: '/usr/bin/hook', Args: ['hook', 'a'], Timeout: 5n }] },
      Linux: {
        UIDMappings: [{ HostID: 100000, ContainerID: 0, Size: 65536 }],
        Sysctl: { 'net.ipv4.ip_forward': '1' },
        CgroupsPath: '/kubepods/pod-a/c0ffee',
        Namespaces: [{ Type: 'mount' }, { Type: 'pid' }, { Type: 'ipc', Path: '/proc/1/ns/ipc' }],
        Devices: [
          { Path: '/dev/xvda', Type: 'b', Major: 253n, Minor: 0n, FileMode: 0o660, UID: 0, GID: 6 },
        ],
        Resources: {
          Devices: [
            { Allow: false, Type: 'a', Major: -1n, Minor: -1n, Access: 'rwm' },
            { Allow: true, Type: 'b', Major: 253n, Minor: 0n, Access: 'rw' },
          ],
          Memory: { Limit: 256n * 1024n * 1024n, Swappiness: 0n, DisableOOMKiller: false },
          CPU: { Shares: 1024n, Quota: 50000n, Period: 100000n, Cpus: '0-1' },
          Pids: { Limit: 512n },
          HugepageLimits: [{ Pagesize: '2MB', Limit: 0n }],
        },
        Seccomp: {
          DefaultAction: 'SCMP_ACT_ERRNO',
          Architectures: ['SCMP_ARCH_X86_64'],
          Flags: ['SECCOMP_FILTER_FLAG_LOG'],
          Syscalls: [
            {
              Names: ['personality'],
              Action: 'SCMP_ACT_ALLOW',
              ErrnoRet: { case: 'errnoret', value: 1 },
              Args: [{ Index: 0n, Value: 8n, Op: 'SCMP_CMP_EQ' }],
            },
          ],
        },
        MaskedPaths: ['/proc/kcore'],
        ReadonlyPaths: ['/proc/sys'],
      },
    },
    sandboxPidns: true,
    sharedMounts: [{ name: 'm', srcCtr: 'a', srcPath: '/x', dstCtr: 'b', dstPath: '/y' }],
    stdinPort: 0,
    stdoutPort: 1025,
    stderrPort: 1026,
  });
}

describe('encoding', () => {
  test('a populated CreateContainerRequest round-trips through the binary format', () => {
    const original = sampleCreateContainerRequest();
    const bytes = toBinary(agent.CreateContainerRequestSchema, original);
    const decoded = fromBinary(agent.CreateContainerRequestSchema, bytes);

    assert.ok(equals(agent.CreateContainerRequestSchema, original, decoded), 'decoded != original');
    // Re-encoding gives the same bytes (deterministic for this message: the
    // maps have one entry each).
    assert.equal(hex(toBinary(agent.CreateContainerRequestSchema, decoded)), hex(bytes));

    // Spot checks that the nested values really came back.
    assert.equal(decoded.OCI?.Process?.Args.join(' '), '/bin/sh -c echo hi');
    assert.equal(decoded.OCI?.Process?.OOMScoreAdj, -999n);
    assert.equal(decoded.OCI?.Linux?.Devices[0]?.Major, 253n);
    assert.equal(decoded.OCI?.Linux?.Resources?.Devices[0]?.Major, -1n);
    assert.equal(decoded.OCI?.Linux?.Resources?.Memory?.Limit, 268435456n);
    assert.equal(decoded.OCI?.Mounts[1]?.source, '/run/kata-containers/sandbox/shm');
    assert.deepEqual(decoded.OCI?.Linux?.Seccomp?.Syscalls[0]?.ErrnoRet, { case: 'errnoret', value: 1 });
    assert.equal(decoded.storages[0]?.fsGroup?.groupId, 2000);
    assert.equal(decoded.storages[1]?.shared, true);
    assert.deepEqual(decoded.stringUser?.additionalGids, ['10', 'audio']);
    assert.equal(decoded.devices[1]?.options[0], '0000:3b:00.0=02/03');
    assert.equal(decoded.stdoutPort, 1025);
  });

  test('WaitProcessRequest{container_id:"a", exec_id:"b"} is 0a 01 61 12 01 62', () => {
    const wire = unhex('0a 01 61 12 01 62');
    const decoded = fromBinary(agent.WaitProcessRequestSchema, wire);
    assert.equal(decoded.containerId, 'a');
    assert.equal(decoded.execId, 'b');
    const encoded = toBinary(
      agent.WaitProcessRequestSchema,
      create(agent.WaitProcessRequestSchema, { containerId: 'a', execId: 'b' }),
    );
    assert.equal(hex(encoded), '0a0161120162');
  });

  test('hand-encoded vectors pin the unusual field numbers', () => {
    // ReseedRandomDevRequest.data = field 2, length-delimited: tag 0x12.
    assert.equal(
      hex(toBinary(agent.ReseedRandomDevRequestSchema, create(agent.ReseedRandomDevRequestSchema, { data: new Uint8Array([1, 2]) }))),
      '12020102',
    );
    // Storage.fs_group (7, tag 0x3a) holding FSGroup.group_id (2, tag 0x10) = 5.
    const storage = fromBinary(agent.StorageSchema, unhex('3a 02 10 05'));
    assert.equal(storage.fsGroup?.groupId, 5);
    // CreateContainerRequest.OCI (6, tag 0x32) holding Spec.Hostname (4, tag 0x22) = "h".
    const ccr = fromBinary(agent.CreateContainerRequestSchema, unhex('32 03 22 01 68'));
    assert.equal(ccr.OCI?.Hostname, 'h');
    // types.Interface field 6 (tag 0x32) = "02/01".
    const nic = fromBinary(types.InterfaceSchema, unhex('32 05 30 32 2f 30 31'));
    assert.equal(nic.devicePath, '02/01');
    // types.Route family=v6 (6), flags=4 (7), mtu=1500 (8).
    const route = fromBinary(types.RouteSchema, unhex('30 01 38 04 40 dc 0b'));
    assert.equal(route.family, types.IPFamily.v6);
    assert.equal(route.flags, 4);
    assert.equal(route.mtu, 1500);
    // ListProcessesRequest{container_id:"c", format:"json", args:["-ef"]}.
    const lp = fromBinary(
      agent.ListProcessesRequestSchema,
      unhex('0a 01 63 12 04 6a 73 6f 6e 1a 03 2d 65 66'),
    );
    assert.deepEqual([lp.containerId, lp.format, lp.args], ['c', 'json', ['-ef']]);
    // SetGuestDateTimeRequest{Sec:1, Usec:2}.
    const dt = fromBinary(agent.SetGuestDateTimeRequestSchema, unhex('08 01 10 02'));
    assert.deepEqual([dt.Sec, dt.Usec], [1n, 2n]);
  });

  test('an Empty result is a zero-length payload', () => {
    assert.equal(toBinary(EmptySchema, create(EmptySchema)).length, 0);
    assert.ok(equals(EmptySchema, fromBinary(EmptySchema, new Uint8Array(0)), create(EmptySchema)));
  });

  test('proto3 optional keeps presence: an explicit false is sent, an unset field is not', () => {
    const unset = create(agent.MemAgentMemcgConfigSchema);
    assert.equal(toBinary(agent.MemAgentMemcgConfigSchema, unset).length, 0);
    const explicitFalse = create(agent.MemAgentMemcgConfigSchema, { disabled: false });
    assert.equal(hex(toBinary(agent.MemAgentMemcgConfigSchema, explicitFalse)), '0800');
    const back = fromBinary(agent.MemAgentMemcgConfigSchema, unhex('0800'));
    assert.equal(back.disabled, false);
    assert.equal(back.swap, undefined);
  });

  test('fields from newer peers are skipped, not rejected', () => {
    // WaitProcessRequest with an extra field 9 (varint 1) appended.
    const decoded = fromBinary(agent.WaitProcessRequestSchema, unhex('0a 01 61 12 01 62 48 01'));
    assert.equal(decoded.containerId, 'a');
    assert.equal(decoded.execId, 'b');
  });
});
