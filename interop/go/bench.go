package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/containerd/ttrpc"

	pb "ttrpcpeer/gen/grpc"
)

// benchResult is the JSON line bench-client prints; bench/ttrpc/run.ts reads it.
type benchResult struct {
	Client      string  `json:"client"`
	Concurrency int     `json:"concurrency"`
	Calls       int     `json:"calls"`
	Seconds     float64 `json:"seconds"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	CallsPerSec float64 `json:"calls_per_sec"`
}

// runBenchClient keeps `concurrency` callers busy with grpc.Health/Check on
// one shared connection for `duration` (after an unmeasured warm-up) and
// prints one JSON object with the round-trip latency percentiles and the
// throughput.
func runBenchClient(args []string) error {
	flags := flag.NewFlagSet("bench-client", flag.ContinueOnError)
	socket := flags.String("socket", "", "unix socket path of the server (required)")
	concurrency := flags.Int("concurrency", 1, "callers in flight at once")
	duration := flags.Duration("duration", 3*time.Second, "measured time")
	warmup := flags.Duration("warmup", 500*time.Millisecond, "unmeasured time before measuring")
	if err := flags.Parse(args); err != nil {
		return err
	}
	path, err := socketPath(*socket)
	if err != nil {
		return err
	}
	if *concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1")
	}

	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()

	if _, err := hammer(client, *concurrency, *warmup); err != nil {
		return err
	}
	start := time.Now()
	latencies, err := hammer(client, *concurrency, *duration)
	if err != nil {
		return err
	}
	seconds := time.Since(start).Seconds()

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	result := benchResult{
		Client:      "go-ttrpc",
		Concurrency: *concurrency,
		Calls:       len(latencies),
		Seconds:     seconds,
		P50us:       percentileMicros(latencies, 0.50),
		P99us:       percentileMicros(latencies, 0.99),
		CallsPerSec: float64(len(latencies)) / seconds,
	}
	return json.NewEncoder(os.Stdout).Encode(result)
}

// hammer runs `concurrency` loops of sequential Check calls until `span`
// has passed and returns every call's round-trip time.
func hammer(client *ttrpc.Client, concurrency int, span time.Duration) ([]time.Duration, error) {
	deadline := time.Now().Add(span)
	perCaller := make([][]time.Duration, concurrency)
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := &pb.CheckRequest{}
			var resp pb.HealthCheckResponse
			for time.Now().Before(deadline) {
				began := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				err := client.Call(ctx, "grpc.Health", "Check", req, &resp)
				cancel()
				if err != nil {
					errs[i] = err
					return
				}
				perCaller[i] = append(perCaller[i], time.Since(began))
			}
		}(i)
	}
	wg.Wait()

	var all []time.Duration
	for i := range perCaller {
		if errs[i] != nil {
			return nil, fmt.Errorf("caller %d: %v", i, errs[i])
		}
		all = append(all, perCaller[i]...)
	}
	return all, nil
}

// percentileMicros reads a percentile from sorted durations by nearest rank:
// the smallest value with at least p of all values at or below it. The
// TypeScript benchmark computes it the same way.
func percentileMicros(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(math.Ceil(p*float64(len(sorted)))) - 1
	if index < 0 {
		index = 0
	}
	return float64(sorted[index].Nanoseconds()) / 1000
}
