package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	gogotypes "github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ttrpcpeer/gen/grpc"
)

// runServer serves grpc.Health and part of grpc.AgentService with Go ttrpc
// until SIGINT/SIGTERM (or stdin EOF with --exit-on-stdin-eof).
//
// Once the socket is listening it prints one line, "listening on PATH", so a
// parent process knows when to connect.
func runServer(args []string) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	socket := flags.String("socket", "", "unix socket path to listen on (required)")
	exitOnStdinEOF := flags.Bool("exit-on-stdin-eof", false, "stop when stdin reaches EOF (lets a parent process tie our lifetime to its own)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	path, err := socketPath(*socket)
	if err != nil {
		return err
	}

	fx, err := loadFixture()
	if err != nil {
		return err
	}

	server, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	server.Register("grpc.Health", healthMethods(fx))
	server.Register("grpc.AgentService", agentMethods(fx))

	listener, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", path)

	served := make(chan error, 1)
	go func() { served <- server.Serve(context.Background(), listener) }()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	stdinClosed := make(chan struct{})
	if *exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(stdinClosed)
		}()
	}

	select {
	case <-stop:
	case <-stdinClosed:
	case err := <-served:
		if err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
			return err
		}
	}
	// Closing the server closes the listener, which removes the socket file.
	return server.Close()
}

func healthMethods(fx *fixture) map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		// The unary latency probe of the benchmarks: decode, answer SERVING.
		"Check": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.CheckRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &pb.HealthCheckResponse{Status: pb.HealthCheckResponse_SERVING}, nil
		},
		// Answers the fixture; with service "metadata" it instead echoes the
		// request's metadata in grpc_version (see metadataEcho).
		"Version": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.CheckRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			if req.Service == "metadata" {
				md, _ := ttrpc.GetMetadata(ctx)
				return &pb.VersionCheckResponse{GrpcVersion: metadataEcho(md), AgentVersion: "metadata-echo"}, nil
			}
			return fx.VersionCheckResponse, nil
		},
	}
}

func agentMethods(fx *fixture) map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		// Checks the request against the fixture and answers the fixture.
		"GetGuestDetails": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.GuestDetailsRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			if d := firstDifference(fx.GuestDetailsRequest, &req); d != "" {
				return nil, status.Errorf(codes.InvalidArgument, "GuestDetailsRequest field %s", d)
			}
			return fx.GuestDetailsResponse, nil
		},

		// Checks every field of the request against the fixture; the error
		// names the first field that differs.
		"CreateContainer": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.CreateContainerRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			if d := firstDifference(fx.CreateContainerRequest, &req); d != "" {
				return nil, status.Errorf(codes.InvalidArgument, "CreateContainerRequest field %s", d)
			}
			return &gogotypes.Empty{}, nil
		},

		// A slow call for deadline tests: exec_id is a Go duration ("250ms",
		// "10s") to sleep before answering. The answer's status is the number
		// of milliseconds that were left before the request's deadline when
		// the wait began (-1 without a deadline), which shows the server saw
		// the client's timeout_nano. The wait ends early with
		// DEADLINE_EXCEEDED when that deadline passes.
		"WaitProcess": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req pb.WaitProcessRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			sleep, err := time.ParseDuration(req.ExecId)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "exec_id: want a duration such as \"250ms\", got %q", req.ExecId)
			}
			left := int32(-1)
			if deadline, ok := ctx.Deadline(); ok {
				left = int32(time.Until(deadline).Milliseconds())
			}
			timer := time.NewTimer(sleep)
			defer timer.Stop()
			select {
			case <-timer.C:
				return &pb.WaitProcessResponse{Status: left}, nil
			case <-ctx.Done():
				code := codes.DeadlineExceeded
				if ctx.Err() == context.Canceled {
					code = codes.Canceled
				}
				return nil, status.Errorf(code, "wait for %q interrupted: %v", req.ContainerId, ctx.Err())
			}
		},
	}
}

// metadataEcho spells request metadata as "key=value" pairs sorted and
// joined with ";" (keys arrive lower-cased), e.g. "a=1;b=2;b=3".
func metadataEcho(md ttrpc.MD) string {
	var pairs []string
	for key, values := range md {
		for _, value := range values {
			pairs = append(pairs, key+"="+value)
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ";")
}

// socketPath accepts a plain path or a unix:///path URI.
func socketPath(value string) (string, error) {
	const scheme = "unix://"
	if value == "" {
		return "", errors.New("--socket is required")
	}
	if len(value) > len(scheme) && value[:len(scheme)] == scheme {
		return value[len(scheme):], nil
	}
	return value, nil
}
