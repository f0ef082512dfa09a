// The messages of the containerd interop test, built with our generated
// code. interop/go/containerd-types/fixtures.go builds the same values with
// containerd's Go types; the test exchanges them in both directions and
// compares every field. Keep the two files in step.
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { AnySchema, TimestampSchema, type Any, type Timestamp } from '@bufbuild/protobuf/wkt';

import { packAny, packJsonAny, RUNTIME_SPEC_TYPE_URLS } from '../../src/protocols/any.js';
import { MetricsSchema as CgroupsV1MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { BlkIOEntrySchema } from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { MetricsSchema as CgroupsV2MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/v2/stats/metrics_pb.js';
import { TaskCreateSchema, TaskExitSchema } from '../../src/protocols/gen/containerd/events/task_pb.js';
import {
  CreateTaskRequestSchema,
  ExecProcessRequestSchema,
  PidsResponseSchema,
  StateResponseSchema,
  StatsResponseSchema,
  UpdateTaskRequestSchema,
} from '../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { ForwardRequestSchema } from '../../src/protocols/gen/containerd/services/ttrpc/events/v1/events_pb.js';
import { MetricSchema } from '../../src/protocols/gen/containerd/types/metrics_pb.js';
import type { Mount } from '../../src/protocols/gen/containerd/types/mount_pb.js';
import { MountSchema } from '../../src/protocols/gen/containerd/types/mount_pb.js';
import { Status } from '../../src/protocols/gen/containerd/types/task/task_pb.js';

function utc(year: number, month: number, day: number, h: number, m: number, s: number, nanos: number): Timestamp {
  return create(TimestampSchema, { seconds: BigInt(Date.UTC(year, month - 1, day, h, m, s) / 1000), nanos });
}

export const exitedAt = utc(2024, 5, 6, 7, 8, 9, 123456789);
export const eventTime = utc(2024, 5, 6, 7, 8, 10, 5000);

const bundle = '/run/containerd/io.containerd.runtime.v2.task/default/ctr-1';
const stdin = '/run/containerd/fifo/1/ctr-1-stdin';
const stdout = '/run/containerd/fifo/1/ctr-1-stdout';
const stderr = '/run/containerd/fifo/1/ctr-1-stderr';

function mounts(): Mount[] {
  return [
    create(MountSchema, {
      type: 'overlay',
      source: 'overlay',
      target: 'rootfs',
      options: [
        'index=off',
        'workdir=/var/lib/containerd/snap/2/work',
        'upperdir=/var/lib/containerd/snap/2/fs',
        'lowerdir=/var/lib/containerd/snap/1/fs',
      ],
    }),
    create(MountSchema, { type: 'bind', source: '/srv/data', target: 'data', options: ['rbind', 'ro'] }),
  ];
}

// Two messages we have no .proto for, written by hand: the CRI plugin's
// runtimeoptions.v1.Options {type_url = 1, config_path = 2} and the runc
// shim's containerd.runc.v1.ProcessDetails {exec_id = 1}.
export const RUNTIME_OPTIONS_TYPE_URL = 'runtimeoptions.v1.Options';
export const PROCESS_DETAILS_TYPE_URL = 'containerd.runc.v1.ProcessDetails';

function stringFields(...values: string[]): Uint8Array {
  const w = new BinaryWriter();
  values.forEach((v, i) => w.tag(i + 1, 2).string(v));
  return w.finish();
}

export function runtimeOptionsAny(): Any {
  return create(AnySchema, {
    typeUrl: RUNTIME_OPTIONS_TYPE_URL,
    value: stringFields('io.containerd.kata-ts.v1.Config', '/etc/kata-ts/configuration.toml'),
  });
}

export function processDetailsAny(execId: string): Any {
  return create(AnySchema, { typeUrl: PROCESS_DETAILS_TYPE_URL, value: stringFields(execId) });
}

/** The runtime-spec Process of the exec fixture, as JSON. */
export const processSpecJson = {
  terminal: true,
  user: { uid: 1000, gid: 1000, additionalGids: [10] },
  args: ['sh', '-c', 'echo hi'],
  env: ['PATH=/bin'],
  cwd: '/',
  noNewPrivileges: true,
};

/** The runtime-spec LinuxResources of the update fixture, as JSON. */
export const linuxResourcesJson = {
  memory: { limit: 268435456 },
  cpu: { shares: 512, quota: 50000, period: 100000 },
  pids: { limit: 64 },
};

export function createTaskRequest() {
  return create(CreateTaskRequestSchema, {
    id: 'ctr-1',
    bundle,
    rootfs: mounts(),
    terminal: true,
    stdin,
    stdout,
    stderr,
    checkpoint: '/var/lib/ckpt/1',
    parentCheckpoint: '/var/lib/ckpt/0',
    options: runtimeOptionsAny(),
  });
}

export function stateResponse() {
  return create(StateResponseSchema, {
    id: 'ctr-1',
    bundle,
    pid: 4242,
    status: Status.PAUSED,
    stdin,
    stdout,
    stderr,
    terminal: true,
    exitStatus: 137,
    exitedAt,
    execId: 'exec-7',
  });
}

export function pidsResponse() {
  return create(PidsResponseSchema, {
    processes: [
      { pid: 4242, info: processDetailsAny('init') },
      { pid: 4250, info: processDetailsAny('exec-7') },
    ],
  });
}

export function execProcessRequest() {
  return create(ExecProcessRequestSchema, {
    id: 'ctr-1',
    execId: 'exec-7',
    terminal: true,
    stdin,
    stdout,
    stderr,
    spec: packJsonAny(RUNTIME_SPEC_TYPE_URLS.process, processSpecJson),
  });
}

export function updateTaskRequest() {
  return create(UpdateTaskRequestSchema, {
    id: 'ctr-1',
    resources: packJsonAny(RUNTIME_SPEC_TYPE_URLS.linuxResources, linuxResourcesJson),
    annotations: { 'io.kubernetes.cri.sandbox-id': 'sb-1', 'org.example/key': 'value' },
  });
}

export function taskExit() {
  return create(TaskExitSchema, { containerId: 'ctr-1', id: 'exec-7', pid: 4250, exitStatus: 137, exitedAt });
}

export function forwardRequest() {
  return create(ForwardRequestSchema, {
    envelope: { timestamp: eventTime, namespace: 'default', topic: '/tasks/exit', event: packAny(TaskExitSchema, taskExit()) },
  });
}

export function taskCreate() {
  return create(TaskCreateSchema, {
    containerId: 'ctr-1',
    bundle,
    rootfs: mounts(),
    io: { stdin, stdout, stderr, terminal: true },
    checkpoint: '/var/lib/ckpt/1',
    pid: 4242,
  });
}

function blkioEntry(k: bigint): MessageInitShape<typeof BlkIOEntrySchema>[] {
  return [{ op: 'Read', device: 'vda', major: 253n, minor: k, value: 2000n + k }];
}

export function cgroupsV1Metrics() {
  return create(CgroupsV1MetricsSchema, {
    hugetlb: [
      { usage: 11n, max: 12n, failcnt: 13n, pagesize: '2MB' },
      { usage: 21n, max: 22n, failcnt: 23n, pagesize: '1GB' },
    ],
    pids: { current: 31n, limit: 32n },
    cpu: {
      usage: { total: 41n, kernel: 42n, user: 43n, perCpu: [44n, 45n] },
      throttling: { periods: 51n, throttledPeriods: 52n, throttledTime: 53n },
    },
    memory: {
      cache: 1001n,
      rss: 1002n,
      rssHuge: 1003n,
      mappedFile: 1004n,
      dirty: 1005n,
      writeback: 1006n,
      pgPgIn: 1007n,
      pgPgOut: 1008n,
      pgFault: 1009n,
      pgMajFault: 1010n,
      inactiveAnon: 1011n,
      activeAnon: 1012n,
      inactiveFile: 1013n,
      activeFile: 1014n,
      unevictable: 1015n,
      hierarchicalMemoryLimit: 1016n,
      hierarchicalSwapLimit: 1017n,
      totalCache: 1018n,
      totalRss: 1019n,
      totalRssHuge: 1020n,
      totalMappedFile: 1021n,
      totalDirty: 1022n,
      totalWriteback: 1023n,
      totalPgPgIn: 1024n,
      totalPgPgOut: 1025n,
      totalPgFault: 1026n,
      totalPgMajFault: 1027n,
      totalInactiveAnon: 1028n,
      totalActiveAnon: 1029n,
      totalInactiveFile: 1030n,
      totalActiveFile: 1031n,
      totalUnevictable: 1032n,
      usage: { limit: 1101n, usage: 1102n, max: 1103n, failcnt: 1104n },
      swap: { limit: 1201n, usage: 1202n, max: 1203n, failcnt: 1204n },
      kernel: { limit: 1301n, usage: 1302n, max: 1303n, failcnt: 1304n },
      kernelTcp: { limit: 1401n, usage: 1402n, max: 1403n, failcnt: 1404n },
    },
    blkio: {
      ioServiceBytesRecursive: blkioEntry(1n),
      ioServicedRecursive: blkioEntry(2n),
      ioQueuedRecursive: blkioEntry(3n),
      ioServiceTimeRecursive: blkioEntry(4n),
      ioWaitTimeRecursive: blkioEntry(5n),
      ioMergedRecursive: blkioEntry(6n),
      ioTimeRecursive: blkioEntry(7n),
      sectorsRecursive: blkioEntry(8n),
    },
    rdma: {
      current: [{ device: 'mlx5_0', hcaHandles: 61, hcaObjects: 62 }],
      limit: [{ device: 'mlx5_0', hcaHandles: 63, hcaObjects: 64 }],
    },
    network: [
      {
        name: 'eth0',
        rxBytes: 71n,
        rxPackets: 72n,
        rxErrors: 73n,
        rxDropped: 74n,
        txBytes: 75n,
        txPackets: 76n,
        txErrors: 77n,
        txDropped: 78n,
      },
    ],
    cgroupStats: { nrSleeping: 81n, nrRunning: 82n, nrStopped: 83n, nrUninterruptible: 84n, nrIoWait: 85n },
    memoryOomControl: { oomKillDisable: 91n, underOom: 92n, oomKill: 93n },
  });
}

export function cgroupsV2Metrics() {
  return create(CgroupsV2MetricsSchema, {
    pids: { current: 11n, limit: 12n },
    cpu: { usageUsec: 21n, userUsec: 22n, systemUsec: 23n, nrPeriods: 24n, nrThrottled: 25n, throttledUsec: 26n },
    memory: {
      anon: 1001n,
      file: 1002n,
      kernelStack: 1003n,
      slab: 1004n,
      sock: 1005n,
      shmem: 1006n,
      fileMapped: 1007n,
      fileDirty: 1008n,
      fileWriteback: 1009n,
      anonThp: 1010n,
      inactiveAnon: 1011n,
      activeAnon: 1012n,
      inactiveFile: 1013n,
      activeFile: 1014n,
      unevictable: 1015n,
      slabReclaimable: 1016n,
      slabUnreclaimable: 1017n,
      pgfault: 1018n,
      pgmajfault: 1019n,
      workingsetRefault: 1020n,
      workingsetActivate: 1021n,
      workingsetNodereclaim: 1022n,
      pgrefill: 1023n,
      pgscan: 1024n,
      pgsteal: 1025n,
      pgactivate: 1026n,
      pgdeactivate: 1027n,
      pglazyfree: 1028n,
      pglazyfreed: 1029n,
      thpFaultAlloc: 1030n,
      thpCollapseAlloc: 1031n,
      usage: 1032n,
      usageLimit: 1033n,
      swapUsage: 1034n,
      swapLimit: 1035n,
    },
    rdma: {
      current: [{ device: 'mlx5_0', hcaHandles: 51, hcaObjects: 52 }],
      limit: [{ device: 'mlx5_0', hcaHandles: 53, hcaObjects: 54 }],
    },
    io: { usage: [{ major: 253n, minor: 1n, rbytes: 61n, wbytes: 62n, rios: 63n, wios: 64n }] },
    hugetlb: [{ current: 71n, max: 72n, pagesize: '2MB' }],
    memoryEvents: { low: 81n, high: 82n, max: 83n, oom: 84n, oomKill: 85n },
  });
}

export function statsResponseV1() {
  return create(StatsResponseSchema, { stats: packAny(CgroupsV1MetricsSchema, cgroupsV1Metrics()) });
}

export function statsResponseV2() {
  return create(StatsResponseSchema, { stats: packAny(CgroupsV2MetricsSchema, cgroupsV2Metrics()) });
}

export function metric() {
  return create(MetricSchema, { timestamp: eventTime, id: 'ctr-1', data: packAny(CgroupsV2MetricsSchema, cgroupsV2Metrics()) });
}

/** One exchanged message: the JSON key both programs use, and our value. */
export interface FixtureCase {
  name: string;
  schema: DescMessage;
  message: () => MessageShape<DescMessage>;
}

function fixtureCase<Desc extends DescMessage>(name: string, schema: Desc, message: () => MessageShape<Desc>): FixtureCase {
  return { name, schema, message: message as () => MessageShape<DescMessage> };
}

export const fixtureCases: FixtureCase[] = [
  fixtureCase('CreateTaskRequest', CreateTaskRequestSchema, createTaskRequest),
  fixtureCase('StateResponse', StateResponseSchema, stateResponse),
  fixtureCase('PidsResponse', PidsResponseSchema, pidsResponse),
  fixtureCase('ExecProcessRequest', ExecProcessRequestSchema, execProcessRequest),
  fixtureCase('UpdateTaskRequest', UpdateTaskRequestSchema, updateTaskRequest),
  fixtureCase('ForwardRequest', ForwardRequestSchema, forwardRequest),
  fixtureCase('TaskCreate', TaskCreateSchema, taskCreate),
  fixtureCase('CgroupsV1Metrics', CgroupsV1MetricsSchema, cgroupsV1Metrics),
  fixtureCase('StatsResponseV1', StatsResponseSchema, statsResponseV1),
  fixtureCase('StatsResponseV2', StatsResponseSchema, statsResponseV2),
  fixtureCase('Metric', MetricSchema, metric),
];
