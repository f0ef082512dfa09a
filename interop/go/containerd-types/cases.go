package main

import (
	cgroupsv1 "github.com/containerd/cgroups/stats/v1"
	events "github.com/containerd/containerd/api/events"
	ttrpcevents "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/runtime/v2/task"
	"github.com/gogo/protobuf/proto"
)

// fixtureCase is one message the two sides exchange: its name in the JSON
// documents, the fixture value and a constructor for decoding into.
type fixtureCase struct {
	name    string
	fixture func() proto.Message
	empty   func() proto.Message
}

var fixtureCases = []fixtureCase{
	{"CreateTaskRequest", func() proto.Message { return fixtureCreateTaskRequest() }, func() proto.Message { return &task.CreateTaskRequest{} }},
	{"StateResponse", func() proto.Message { return fixtureStateResponse() }, func() proto.Message { return &task.StateResponse{} }},
	{"PidsResponse", func() proto.Message { return fixturePidsResponse() }, func() proto.Message { return &task.PidsResponse{} }},
	{"ExecProcessRequest", func() proto.Message { return fixtureExecProcessRequest() }, func() proto.Message { return &task.ExecProcessRequest{} }},
	{"UpdateTaskRequest", func() proto.Message { return fixtureUpdateTaskRequest() }, func() proto.Message { return &task.UpdateTaskRequest{} }},
	{"ForwardRequest", func() proto.Message { return fixtureForwardRequest() }, func() proto.Message { return &ttrpcevents.ForwardRequest{} }},
	{"TaskCreate", func() proto.Message { return fixtureTaskCreate() }, func() proto.Message { return &events.TaskCreate{} }},
	{"CgroupsV1Metrics", func() proto.Message { return fixtureCgroupsV1Metrics() }, func() proto.Message { return &cgroupsv1.Metrics{} }},
	{"StatsResponseV1", func() proto.Message { return fixtureStatsResponseV1() }, func() proto.Message { return &task.StatsResponse{} }},
	{"StatsResponseV2", func() proto.Message { return fixtureStatsResponseV2() }, func() proto.Message { return &task.StatsResponse{} }},
	{"Metric", func() proto.Message { return fixtureMetric() }, func() proto.Message { return &types.Metric{} }},
}
