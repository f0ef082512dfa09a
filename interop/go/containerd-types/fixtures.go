package main

import (
	"fmt"
	"time"

	cgroupsv1 "github.com/containerd/cgroups/stats/v1"
	cgroupsv2 "github.com/containerd/cgroups/v2/stats"
	events "github.com/containerd/containerd/api/events"
	ttrpcevents "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/api/types"
	tasktypes "github.com/containerd/containerd/api/types/task"
	runtimeoptions "github.com/containerd/containerd/pkg/runtimeoptions/v1"
	"github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/typeurl"
	ptypes "github.com/gogo/protobuf/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The fixture messages, built with containerd's own Go types. The TypeScript
// test (test/protocols/containerd-go-interop.test.ts) builds the same values
// with our generated code: every field of every message is set, so a field
// with a wrong number or type on either side shows up as a difference.
//
// Anys are packed with containerd's typeurl package, exactly as containerd
// and its runc shim pack them: proto messages under their bare full name,
// runtime-spec structs as JSON under types.containerd.io/... URLs.

var (
	// exitedAt and eventTime are the timestamps used below.
	exitedAt  = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	eventTime = time.Date(2024, 5, 6, 7, 8, 10, 5000, time.UTC)
)

const (
	fixtureBundle = "/run/containerd/io.containerd.runtime.v2.task/default/ctr-1"
	fixtureStdin  = "/run/containerd/fifo/1/ctr-1-stdin"
	fixtureStdout = "/run/containerd/fifo/1/ctr-1-stdout"
	fixtureStderr = "/run/containerd/fifo/1/ctr-1-stderr"
)

func fixtureMounts() []*types.Mount {
	return []*types.Mount{
		{
			Type:   "overlay",
			Source: "overlay",
			Target: "rootfs",
			Options: []string{
				"index=off",
				"workdir=/var/lib/containerd/snap/2/work",
				"upperdir=/var/lib/containerd/snap/2/fs",
				"lowerdir=/var/lib/containerd/snap/1/fs",
			},
		},
		{Type: "bind", Source: "/srv/data", Target: "data", Options: []string{"rbind", "ro"}},
	}
}

func mustAny(v interface{}) *ptypes.Any {
	a, err := typeurl.MarshalAny(v)
	if err != nil {
		panic(fmt.Sprintf("typeurl.MarshalAny(%T): %v", v, err))
	}
	return a
}

func fixtureRuntimeOptions() *runtimeoptions.Options {
	return &runtimeoptions.Options{
		TypeUrl:    "io.containerd.kata-ts.v1.Config",
		ConfigPath: "/etc/kata-ts/configuration.toml",
	}
}

func fixtureCreateTaskRequest() *task.CreateTaskRequest {
	return &task.CreateTaskRequest{
		ID:               "ctr-1",
		Bundle:           fixtureBundle,
		Rootfs:           fixtureMounts(),
		Terminal:         true,
		Stdin:            fixtureStdin,
		Stdout:           fixtureStdout,
		Stderr:           fixtureStderr,
		Checkpoint:       "/var/lib/ckpt/1",
		ParentCheckpoint: "/var/lib/ckpt/0",
		Options:          mustAny(fixtureRuntimeOptions()),
	}
}

func fixtureStateResponse() *task.StateResponse {
	return &task.StateResponse{
		ID:         "ctr-1",
		Bundle:     fixtureBundle,
		Pid:        4242,
		Status:     tasktypes.StatusPaused,
		Stdin:      fixtureStdin,
		Stdout:     fixtureStdout,
		Stderr:     fixtureStderr,
		Terminal:   true,
		ExitStatus: 137,
		ExitedAt:   exitedAt,
		ExecID:     "exec-7",
	}
}

func fixtureProcessDetails(execID string) *options.ProcessDetails {
	return &options.ProcessDetails{ExecID: execID}
}

func fixturePidsResponse() *task.PidsResponse {
	return &task.PidsResponse{
		Processes: []*tasktypes.ProcessInfo{
			{Pid: 4242, Info: mustAny(fixtureProcessDetails("init"))},
			{Pid: 4250, Info: mustAny(fixtureProcessDetails("exec-7"))},
		},
	}
}

func fixtureProcessSpec() *specs.Process {
	return &specs.Process{
		Terminal:        true,
		User:            specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10}},
		Args:            []string{"sh", "-c", "echo hi"},
		Env:             []string{"PATH=/bin"},
		Cwd:             "/",
		NoNewPrivileges: true,
	}
}

func fixtureExecProcessRequest() *task.ExecProcessRequest {
	return &task.ExecProcessRequest{
		ID:       "ctr-1",
		ExecID:   "exec-7",
		Terminal: true,
		Stdin:    fixtureStdin,
		Stdout:   fixtureStdout,
		Stderr:   fixtureStderr,
		Spec:     mustAny(fixtureProcessSpec()),
	}
}

func fixtureLinuxResources() *specs.LinuxResources {
	memLimit := int64(268435456)
	shares := uint64(512)
	quota := int64(50000)
	period := uint64(100000)
	return &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &memLimit},
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period},
		Pids:   &specs.LinuxPids{Limit: 64},
	}
}

func fixtureUpdateTaskRequest() *task.UpdateTaskRequest {
	return &task.UpdateTaskRequest{
		ID:        "ctr-1",
		Resources: mustAny(fixtureLinuxResources()),
		Annotations: map[string]string{
			"io.kubernetes.cri.sandbox-id": "sb-1",
			"org.example/key":              "value",
		},
	}
}

func fixtureTaskExit() *events.TaskExit {
	return &events.TaskExit{
		ContainerID: "ctr-1",
		ID:          "exec-7",
		Pid:         4250,
		ExitStatus:  137,
		ExitedAt:    exitedAt,
	}
}

func fixtureForwardRequest() *ttrpcevents.ForwardRequest {
	return &ttrpcevents.ForwardRequest{
		Envelope: &ttrpcevents.Envelope{
			Timestamp: eventTime,
			Namespace: "default",
			Topic:     "/tasks/exit",
			Event:     mustAny(fixtureTaskExit()),
		},
	}
}

func fixtureTaskCreate() *events.TaskCreate {
	return &events.TaskCreate{
		ContainerID: "ctr-1",
		Bundle:      fixtureBundle,
		Rootfs:      fixtureMounts(),
		IO: &events.TaskIO{
			Stdin:    fixtureStdin,
			Stdout:   fixtureStdout,
			Stderr:   fixtureStderr,
			Terminal: true,
		},
		Checkpoint: "/var/lib/ckpt/1",
		Pid:        4242,
	}
}

func blkioEntry(k uint64) []*cgroupsv1.BlkIOEntry {
	return []*cgroupsv1.BlkIOEntry{{Op: "Read", Device: "vda", Major: 253, Minor: k, Value: 2000 + k}}
}

// fixtureCgroupsV1Metrics sets every field; numbers follow a pattern
// (message base + field number) that the TypeScript side repeats.
func fixtureCgroupsV1Metrics() *cgroupsv1.Metrics {
	return &cgroupsv1.Metrics{
		Hugetlb: []*cgroupsv1.HugetlbStat{
			{Usage: 11, Max: 12, Failcnt: 13, Pagesize: "2MB"},
			{Usage: 21, Max: 22, Failcnt: 23, Pagesize: "1GB"},
		},
		Pids: &cgroupsv1.PidsStat{Current: 31, Limit: 32},
		CPU: &cgroupsv1.CPUStat{
			Usage:      &cgroupsv1.CPUUsage{Total: 41, Kernel: 42, User: 43, PerCPU: []uint64{44, 45}},
			Throttling: &cgroupsv1.Throttle{Periods: 51, ThrottledPeriods: 52, ThrottledTime: 53},
		},
		Memory: &cgroupsv1.MemoryStat{
			Cache:                   1001,
			RSS:                     1002,
			RSSHuge:                 1003,
			MappedFile:              1004,
			Dirty:                   1005,
			Writeback:               1006,
			PgPgIn:                  1007,
			PgPgOut:                 1008,
			PgFault:                 1009,
			PgMajFault:              1010,
			InactiveAnon:            1011,
			ActiveAnon:              1012,
			InactiveFile:            1013,
			ActiveFile:              1014,
			Unevictable:             1015,
			HierarchicalMemoryLimit: 1016,
			HierarchicalSwapLimit:   1017,
			TotalCache:              1018,
			TotalRSS:                1019,
			TotalRSSHuge:            1020,
			TotalMappedFile:         1021,
			TotalDirty:              1022,
			TotalWriteback:          1023,
			TotalPgPgIn:             1024,
			TotalPgPgOut:            1025,
			TotalPgFault:            1026,
			TotalPgMajFault:         1027,
			TotalInactiveAnon:       1028,
			TotalActiveAnon:         1029,
			TotalInactiveFile:       1030,
			TotalActiveFile:         1031,
			TotalUnevictable:        1032,
			Usage:                   &cgroupsv1.MemoryEntry{Limit: 1101, Usage: 1102, Max: 1103, Failcnt: 1104},
			Swap:                    &cgroupsv1.MemoryEntry{Limit: 1201, Usage: 1202, Max: 1203, Failcnt: 1204},
			Kernel:                  &cgroupsv1.MemoryEntry{Limit: 1301, Usage: 1302, Max: 1303, Failcnt: 1304},
			KernelTCP:               &cgroupsv1.MemoryEntry{Limit: 1401, Usage: 1402, Max: 1403, Failcnt: 1404},
		},
		Blkio: &cgroupsv1.BlkIOStat{
			IoServiceBytesRecursive: blkioEntry(1),
			IoServicedRecursive:     blkioEntry(2),
			IoQueuedRecursive:       blkioEntry(3),
			IoServiceTimeRecursive:  blkioEntry(4),
			IoWaitTimeRecursive:     blkioEntry(5),
			IoMergedRecursive:       blkioEntry(6),
			IoTimeRecursive:         blkioEntry(7),
			SectorsRecursive:        blkioEntry(8),
		},
		Rdma: &cgroupsv1.RdmaStat{
			Current: []*cgroupsv1.RdmaEntry{{Device: "mlx5_0", HcaHandles: 61, HcaObjects: 62}},
			Limit:   []*cgroupsv1.RdmaEntry{{Device: "mlx5_0", HcaHandles: 63, HcaObjects: 64}},
		},
		Network: []*cgroupsv1.NetworkStat{{
			Name:      "eth0",
			RxBytes:   71,
			RxPackets: 72,
			RxErrors:  73,
			RxDropped: 74,
			TxBytes:   75,
			TxPackets: 76,
			TxErrors:  77,
			TxDropped: 78,
		}},
		CgroupStats: &cgroupsv1.CgroupStats{
			NrSleeping:        81,
			NrRunning:         82,
			NrStopped:         83,
			NrUninterruptible: 84,
			NrIoWait:          85,
		},
		MemoryOomControl: &cgroupsv1.MemoryOomControl{OomKillDisable: 91, UnderOom: 92, OomKill: 93},
	}
}

// fixtureCgroupsV2Metrics sets every field, with the same kind of pattern.
func fixtureCgroupsV2Metrics() *cgroupsv2.Metrics {
	return &cgroupsv2.Metrics{
		Pids: &cgroupsv2.PidsStat{Current: 11, Limit: 12},
		CPU: &cgroupsv2.CPUStat{
			UsageUsec:     21,
			UserUsec:      22,
			SystemUsec:    23,
			NrPeriods:     24,
			NrThrottled:   25,
			ThrottledUsec: 26,
		},
		Memory: &cgroupsv2.MemoryStat{
			Anon:                  1001,
			File:                  1002,
			KernelStack:           1003,
			Slab:                  1004,
			Sock:                  1005,
			Shmem:                 1006,
			FileMapped:            1007,
			FileDirty:             1008,
			FileWriteback:         1009,
			AnonThp:               1010,
			InactiveAnon:          1011,
			ActiveAnon:            1012,
			InactiveFile:          1013,
			ActiveFile:            1014,
			Unevictable:           1015,
			SlabReclaimable:       1016,
			SlabUnreclaimable:     1017,
			Pgfault:               1018,
			Pgmajfault:            1019,
			WorkingsetRefault:     1020,
			WorkingsetActivate:    1021,
			WorkingsetNodereclaim: 1022,
			Pgrefill:              1023,
			Pgscan:                1024,
			Pgsteal:               1025,
			Pgactivate:            1026,
			Pgdeactivate:          1027,
			Pglazyfree:            1028,
			Pglazyfreed:           1029,
			ThpFaultAlloc:         1030,
			ThpCollapseAlloc:      1031,
			Usage:                 1032,
			UsageLimit:            1033,
			SwapUsage:             1034,
			SwapLimit:             1035,
		},
		Rdma: &cgroupsv2.RdmaStat{
			Current: []*cgroupsv2.RdmaEntry{{Device: "mlx5_0", HcaHandles: 51, HcaObjects: 52}},
			Limit:   []*cgroupsv2.RdmaEntry{{Device: "mlx5_0", HcaHandles: 53, HcaObjects: 54}},
		},
		Io: &cgroupsv2.IOStat{
			Usage: []*cgroupsv2.IOEntry{{Major: 253, Minor: 1, Rbytes: 61, Wbytes: 62, Rios: 63, Wios: 64}},
		},
		Hugetlb:      []*cgroupsv2.HugeTlbStat{{Current: 71, Max: 72, Pagesize: "2MB"}},
		MemoryEvents: &cgroupsv2.MemoryEvents{Low: 81, High: 82, Max: 83, Oom: 84, OomKill: 85},
	}
}

func fixtureStatsResponseV1() *task.StatsResponse {
	return &task.StatsResponse{Stats: mustAny(fixtureCgroupsV1Metrics())}
}

func fixtureStatsResponseV2() *task.StatsResponse {
	return &task.StatsResponse{Stats: mustAny(fixtureCgroupsV2Metrics())}
}

// fixtureMetric is what containerd itself builds around a shim's stats for
// its clients (ctr task metrics reads this).
func fixtureMetric() *types.Metric {
	return &types.Metric{
		Timestamp: eventTime,
		ID:        "ctr-1",
		Data:      mustAny(fixtureCgroupsV2Metrics()),
	}
}
