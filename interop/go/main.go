// Command kata-ttrpc-peer is the Go side of our ttRPC interoperability tests
// and benchmarks. It is built on containerd's Go ttrpc library (the reference
// implementation of the protocol) and on Go message types generated at build
// time from our own .proto files (see build.sh), so it speaks exactly what a
// Go Kata runtime or a Go agent would put on the wire.
//
// Modes:
//
//	server       --socket PATH   serve grpc.Health and a few grpc.AgentService RPCs
//	client       --socket PATH   call a server (ours) and check every answer
//	bench-client --socket PATH   hammer grpc.Health/Check and print latency JSON
//
// The messages exchanged are the fixtures in interop/fixtures/agent-fixture.json,
// which the TypeScript side loads too.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: kata-ttrpc-peer <mode> [flags]

modes:
  server       --socket PATH [--exit-on-stdin-eof]
  client       --socket PATH [--checks LIST] [--unknown-code CODE] [--concurrency N]
  bench-client --socket PATH [--concurrency N] [--duration D] [--warmup D]

Run "kata-ttrpc-peer <mode> -h" for the flags of one mode.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]

	var err error
	switch mode {
	case "server":
		err = runServer(args)
	case "client":
		err = runClient(args)
	case "bench-client":
		err = runBenchClient(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "kata-ttrpc-peer: unknown mode %q\n\n%s", mode, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kata-ttrpc-peer %s: %v\n", mode, err)
		os.Exit(1)
	}
}
