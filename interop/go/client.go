package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	gogotypes "github.com/gogo/protobuf/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ttrpcpeer/gen/grpc"
)

// callTimeout bounds every call the checks make, so a server that never
// answers fails the run instead of hanging it.
const callTimeout = 10 * time.Second

// A check is one named conversation with the server under test.
type check struct {
	name string
	run  func(c *checker) error
}

type checker struct {
	client       *ttrpc.Client
	fx           *fixture
	unknownCode  codes.Code
	concurrency  int
	deadlineWait time.Duration
}

var allChecks = []check{
	{"check", (*checker).checkHealth},
	{"version", (*checker).checkVersion},
	{"guest-details", (*checker).checkGuestDetails},
	{"create-container", (*checker).checkCreateContainer},
	{"create-container-mismatch", (*checker).checkCreateContainerMismatch},
	{"unknown-method", (*checker).checkUnknownMethod},
	{"unknown-service", (*checker).checkUnknownService},
	{"metadata", (*checker).checkMetadata},
	{"deadline", (*checker).checkDeadline},
	{"concurrent", (*checker).checkConcurrent},
}

// runClient connects to a server (normally our TypeScript one), runs the
// selected checks in order on one connection, and fails on the first one
// that does not hold. On success it prints "PASS: N checks (names)".
func runClient(args []string) error {
	flags := flag.NewFlagSet("client", flag.ContinueOnError)
	socket := flags.String("socket", "", "unix socket path of the server (required)")
	checkList := flags.String("checks", "all", "comma-separated checks to run: all, or any of "+checkNames())
	unknownCode := flags.String("unknown-code", "NOT_FOUND", "status code expected for an unknown service or method (our server: NOT_FOUND; Go ttrpc 1.1: UNIMPLEMENTED)")
	concurrency := flags.Int("concurrency", 100, "calls in flight at once in the concurrent check")
	if err := flags.Parse(args); err != nil {
		return err
	}
	path, err := socketPath(*socket)
	if err != nil {
		return err
	}
	code, err := parseCode(*unknownCode)
	if err != nil {
		return err
	}
	selected, err := selectChecks(*checkList)
	if err != nil {
		return err
	}
	fx, err := loadFixture()
	if err != nil {
		return err
	}

	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()

	c := &checker{client: client, fx: fx, unknownCode: code, concurrency: *concurrency, deadlineWait: 200 * time.Millisecond}
	var passed []string
	for _, chk := range selected {
		if err := chk.run(c); err != nil {
			return fmt.Errorf("FAIL %s: %v", chk.name, err)
		}
		fmt.Printf("ok %s\n", chk.name)
		passed = append(passed, chk.name)
	}
	fmt.Printf("PASS: %d checks (%s)\n", len(passed), strings.Join(passed, ", "))
	return nil
}

func (c *checker) call(service, method string, req, resp interface{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return c.client.Call(ctx, service, method, req, resp)
}

func (c *checker) checkHealth() error {
	var resp pb.HealthCheckResponse
	if err := c.call("grpc.Health", "Check", c.fx.CheckRequest, &resp); err != nil {
		return err
	}
	if d := firstDifference(c.fx.HealthCheckResponse, &resp); d != "" {
		return fmt.Errorf("HealthCheckResponse field %s", d)
	}
	return nil
}

func (c *checker) checkVersion() error {
	var resp pb.VersionCheckResponse
	if err := c.call("grpc.Health", "Version", c.fx.CheckRequest, &resp); err != nil {
		return err
	}
	if d := firstDifference(c.fx.VersionCheckResponse, &resp); d != "" {
		return fmt.Errorf("VersionCheckResponse field %s", d)
	}
	return nil
}

func (c *checker) checkGuestDetails() error {
	var resp pb.GuestDetailsResponse
	if err := c.call("grpc.AgentService", "GetGuestDetails", c.fx.GuestDetailsRequest, &resp); err != nil {
		return err
	}
	if d := firstDifference(c.fx.GuestDetailsResponse, &resp); d != "" {
		return fmt.Errorf("GuestDetailsResponse field %s", d)
	}
	return nil
}

// The server checks every field of the fixture request and answers OK.
func (c *checker) checkCreateContainer() error {
	return c.call("grpc.AgentService", "CreateContainer", c.fx.CreateContainerRequest, &gogotypes.Empty{})
}

// A request that differs in one deep field (the wildcard major number of the
// first device cgroup rule) must be refused with INVALID_ARGUMENT, which
// shows the server really compares what it receives.
func (c *checker) checkCreateContainerMismatch() error {
	req := proto.Clone(c.fx.CreateContainerRequest).(*pb.CreateContainerRequest)
	req.OCI.Linux.Resources.Devices[0].Major = 0
	err := c.call("grpc.AgentService", "CreateContainer", req, &gogotypes.Empty{})
	if err := expectCode(err, codes.InvalidArgument); err != nil {
		return err
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "Devices[0].Major") {
		return fmt.Errorf("the INVALID_ARGUMENT message should name Devices[0].Major, got %q", msg)
	}
	return nil
}

func (c *checker) checkUnknownMethod() error {
	err := c.call("grpc.AgentService", "NoSuchMethod", &pb.CheckRequest{}, &gogotypes.Empty{})
	return expectCode(err, c.unknownCode)
}

func (c *checker) checkUnknownService() error {
	err := c.call("grpc.NoSuchService", "Check", &pb.CheckRequest{}, &gogotypes.Empty{})
	return expectCode(err, c.unknownCode)
}

// Version with service "metadata" answers the request's metadata as
// sorted "key=value" pairs joined by ";" in grpc_version; keys are
// lower-cased on the way (Go's MD helpers already do it on our side).
func (c *checker) checkMetadata() error {
	md := ttrpc.MD{}
	md.Set("agent-ctl-cfg", "auto-values")
	md.Append("x-interop", "one", "two")
	ctx, cancel := context.WithTimeout(ttrpc.WithMetadata(context.Background(), md), callTimeout)
	defer cancel()
	var resp pb.VersionCheckResponse
	if err := c.client.Call(ctx, "grpc.Health", "Version", &pb.CheckRequest{Service: "metadata"}, &resp); err != nil {
		return err
	}
	const want = "agent-ctl-cfg=auto-values;x-interop=one;x-interop=two"
	if resp.GrpcVersion != want {
		return fmt.Errorf("metadata echo: want %q, got %q", want, resp.GrpcVersion)
	}
	return nil
}

// WaitProcess sleeps for the duration in exec_id and answers, in status,
// how many milliseconds were left before the deadline the server derived
// from timeout_nano (-1 for none).
//   - with a 5 s deadline and no sleep, status is within (0, 5000];
//   - a 10 s sleep with a short deadline fails with DEADLINE_EXCEEDED (from
//     the server, or from the Go client's own timer, whichever fires first);
//   - the connection still works afterwards.
func (c *checker) checkDeadline() error {
	var resp pb.WaitProcessResponse
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &pb.WaitProcessRequest{ContainerId: "deadline-probe", ExecId: "0s"}
	if err := c.client.Call(ctx, "grpc.AgentService", "WaitProcess", req, &resp); err != nil {
		return err
	}
	if resp.Status <= 0 || resp.Status > 5000 {
		return fmt.Errorf("server saw %d ms left of a 5000 ms deadline; timeout_nano was lost or misread", resp.Status)
	}

	short, cancelShort := context.WithTimeout(context.Background(), c.deadlineWait)
	defer cancelShort()
	req = &pb.WaitProcessRequest{ContainerId: "deadline-probe", ExecId: "10s"}
	err := c.client.Call(short, "grpc.AgentService", "WaitProcess", req, &pb.WaitProcessResponse{})
	if !errors.Is(err, context.DeadlineExceeded) && status.Code(err) != codes.DeadlineExceeded {
		return fmt.Errorf("want DEADLINE_EXCEEDED, got %v", describe(err))
	}

	req = &pb.WaitProcessRequest{ContainerId: "deadline-probe", ExecId: "20ms"}
	if err := c.call("grpc.AgentService", "WaitProcess", req, &resp); err != nil {
		return fmt.Errorf("short wait after the deadline: %v", err)
	}
	return c.checkHealth()
}

// Many calls of three kinds in flight at once on one connection; each answer
// must match its own request's expected reply.
func (c *checker) checkConcurrent() error {
	var wg sync.WaitGroup
	errs := make(chan error, c.concurrency)
	for i := 0; i < c.concurrency; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			switch i % 3 {
			case 0:
				err = c.checkHealth()
			case 1:
				err = c.checkGuestDetails()
			default:
				err = c.checkCreateContainer()
			}
			if err != nil {
				errs <- fmt.Errorf("call %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	failures := 0
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
		failures++
	}
	if first != nil {
		return fmt.Errorf("%d of %d concurrent calls failed; first: %v", failures, c.concurrency, first)
	}
	return nil
}

func expectCode(err error, want codes.Code) error {
	if err == nil {
		return fmt.Errorf("want %s, got OK", codeName(want))
	}
	if status.Code(err) != want {
		return fmt.Errorf("want %s, got %s", codeName(want), describe(err))
	}
	return nil
}

func describe(err error) string {
	if err == nil {
		return "OK"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s %q", codeName(st.Code()), st.Message())
	}
	return err.Error()
}

// codeName spells a code the way the gRPC spec and our TypeScript side do.
func codeName(code codes.Code) string {
	for name, c := range codeNames {
		if c == code {
			return name
		}
	}
	return code.String()
}

var codeNames = map[string]codes.Code{
	"OK": codes.OK, "CANCELLED": codes.Canceled, "UNKNOWN": codes.Unknown,
	"INVALID_ARGUMENT": codes.InvalidArgument, "DEADLINE_EXCEEDED": codes.DeadlineExceeded,
	"NOT_FOUND": codes.NotFound, "ALREADY_EXISTS": codes.AlreadyExists,
	"PERMISSION_DENIED": codes.PermissionDenied, "RESOURCE_EXHAUSTED": codes.ResourceExhausted,
	"FAILED_PRECONDITION": codes.FailedPrecondition, "ABORTED": codes.Aborted,
	"OUT_OF_RANGE": codes.OutOfRange, "UNIMPLEMENTED": codes.Unimplemented,
	"INTERNAL": codes.Internal, "UNAVAILABLE": codes.Unavailable,
	"DATA_LOSS": codes.DataLoss, "UNAUTHENTICATED": codes.Unauthenticated,
}

func parseCode(name string) (codes.Code, error) {
	if code, ok := codeNames[strings.ToUpper(name)]; ok {
		return code, nil
	}
	return 0, fmt.Errorf("unknown status code name %q", name)
}

func checkNames() string {
	names := make([]string, len(allChecks))
	for i, chk := range allChecks {
		names[i] = chk.name
	}
	return strings.Join(names, ", ")
}

func selectChecks(list string) ([]check, error) {
	if list == "all" {
		return allChecks, nil
	}
	var selected []check
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, chk := range allChecks {
			if chk.name == strings.TrimSpace(name) {
				selected = append(selected, chk)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown check %q (known: %s)", name, checkNames())
		}
	}
	return selected, nil
}
