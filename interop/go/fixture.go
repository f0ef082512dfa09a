package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gogo/protobuf/jsonpb"
	"github.com/gogo/protobuf/proto"

	pb "ttrpcpeer/gen/grpc"
)

// build.sh copies interop/fixtures/agent-fixture.json next to this file
// before compiling, so the binary carries the exact fixture it was built with.
//
//go:embed agent-fixture.json
var fixtureJSON []byte

// fixture holds the deterministic messages both sides of the interop tests
// agree on. Every field of each message is set.
type fixture struct {
	CheckRequest           *pb.CheckRequest
	HealthCheckResponse    *pb.HealthCheckResponse
	VersionCheckResponse   *pb.VersionCheckResponse
	GuestDetailsRequest    *pb.GuestDetailsRequest
	GuestDetailsResponse   *pb.GuestDetailsResponse
	CreateContainerRequest *pb.CreateContainerRequest
}

// loadFixture parses the embedded fixture file. Each entry is one message in
// the proto3 JSON mapping, read with gogo's jsonpb (the TypeScript side uses
// @bufbuild/protobuf's JSON reader on the same text).
func loadFixture() (*fixture, error) {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(fixtureJSON, &entries); err != nil {
		return nil, fmt.Errorf("fixture file: %w", err)
	}

	fx := &fixture{
		CheckRequest:           &pb.CheckRequest{},
		HealthCheckResponse:    &pb.HealthCheckResponse{},
		VersionCheckResponse:   &pb.VersionCheckResponse{},
		GuestDetailsRequest:    &pb.GuestDetailsRequest{},
		GuestDetailsResponse:   &pb.GuestDetailsResponse{},
		CreateContainerRequest: &pb.CreateContainerRequest{},
	}
	targets := map[string]proto.Message{
		"CheckRequest":           fx.CheckRequest,
		"HealthCheckResponse":    fx.HealthCheckResponse,
		"VersionCheckResponse":   fx.VersionCheckResponse,
		"GuestDetailsRequest":    fx.GuestDetailsRequest,
		"GuestDetailsResponse":   fx.GuestDetailsResponse,
		"CreateContainerRequest": fx.CreateContainerRequest,
	}

	strict := jsonpb.Unmarshaler{AllowUnknownFields: false}
	for name, msg := range targets {
		raw, ok := entries[name]
		if !ok {
			return nil, fmt.Errorf("fixture file has no %q entry", name)
		}
		if err := strict.Unmarshal(bytes.NewReader(raw), msg); err != nil {
			return nil, fmt.Errorf("fixture %s: %w", name, err)
		}
	}
	return fx, nil
}
