// Command kata-containerd-types checks our containerd .proto files against
// containerd's own Go types (containerd 1.6 and containerd/cgroups, from
// Debian's Go packages). It is the Go side of
// test/protocols/containerd-go-interop.test.ts.
//
// Modes:
//
//	descriptors    print containerd's compiled file descriptors (JSON: file -> base64)
//	encode         print the fixture messages marshalled by containerd's Go code
//	               (JSON: case -> base64)
//	decode         read the same JSON on stdin (produced by our TypeScript),
//	               unmarshal every case with containerd's Go code and compare
//	               it field by field with the fixture
//	resolve URL... tell, for each type URL, whether containerd's typeurl
//	               package (which containerd and ctr use to unpack an Any)
//	               knows it, and as which Go type
//	zero-time      print (base64) a StateResponse whose exited_at is left at
//	               Go's zero time, as containerd sends for a live process
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/containerd/containerd/runtime/v2/task"
	"github.com/containerd/typeurl"
	"github.com/gogo/protobuf/proto"

	// Registers the runtime-spec JSON types under their
	// types.containerd.io/opencontainers/runtime-spec/1/... URLs, as in
	// containerd itself.
	_ "github.com/containerd/containerd/runtime"
)

const usage = `usage: kata-containerd-types <mode>

modes:
  descriptors      print containerd's file descriptors as JSON {file: base64}
  encode           print the fixture messages as JSON {case: base64}
  decode           read JSON {case: base64} on stdin and compare with the fixtures
  resolve URL...   print which type URLs containerd's typeurl package resolves
  zero-time        print a StateResponse with an unset exited_at (base64)
`

// goProtoFiles are the files whose descriptors the descriptors mode prints:
// the names under which containerd's and cgroups' generated Go code
// registered them.
var goProtoFiles = []string{
	"github.com/containerd/containerd/api/types/mount.proto",
	"github.com/containerd/containerd/api/types/metrics.proto",
	"github.com/containerd/containerd/api/types/task/task.proto",
	"github.com/containerd/containerd/runtime/v2/task/shim.proto",
	"github.com/containerd/containerd/api/events/task.proto",
	"github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto",
	"github.com/containerd/cgroups/stats/v1/metrics.proto",
	"github.com/containerd/cgroups/v2/stats/metrics.proto",
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "descriptors":
		err = printDescriptors()
	case "encode":
		err = encodeFixtures()
	case "decode":
		err = decodeAndCompare(os.Stdin)
	case "resolve":
		err = resolveTypeURLs(os.Args[2:])
	case "zero-time":
		err = printZeroTime()
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kata-containerd-types: %v\n", err)
		os.Exit(1)
	}
}

func printJSON(v interface{}) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printDescriptors prints the serialized FileDescriptorProto of each file.
// gogo keeps them gzipped in its registry.
func printDescriptors() error {
	out := map[string][]byte{}
	for _, name := range goProtoFiles {
		gz := proto.FileDescriptor(name)
		if gz == nil {
			return fmt.Errorf("no descriptor registered for %s", name)
		}
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		raw, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = raw
	}
	return printJSON(out)
}

func encodeFixtures() error {
	out := map[string][]byte{}
	for _, c := range fixtureCases {
		msg := c.fixture()
		if unset := unsetFields(msg); len(unset) > 0 {
			return fmt.Errorf("fixture %s leaves fields unset: %v", c.name, unset)
		}
		raw, err := proto.Marshal(msg)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", c.name, err)
		}
		out[c.name] = raw
	}
	return printJSON(out)
}

// decodeAndCompare checks every case of the input; all fixture cases must
// be present.
func decodeAndCompare(in io.Reader) error {
	var input map[string][]byte
	if err := json.NewDecoder(in).Decode(&input); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	known := map[string]bool{}
	for _, c := range fixtureCases {
		known[c.name] = true
		raw, ok := input[c.name]
		if !ok {
			return fmt.Errorf("case %s missing from input", c.name)
		}
		got := c.empty()
		if err := proto.Unmarshal(raw, got); err != nil {
			return fmt.Errorf("case %s: unmarshal: %w", c.name, err)
		}
		if diff := firstDifference(c.name, got, c.fixture()); diff != "" {
			return fmt.Errorf("case %s: %s", c.name, diff)
		}
		fmt.Printf("ok %s\n", c.name)
	}
	var extra []string
	for name := range input {
		if !known[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("unknown cases in input: %v", extra)
	}
	return nil
}

type resolution struct {
	URL      string `json:"url"`
	Resolved bool   `json:"resolved"`
	GoType   string `json:"goType,omitempty"`
}

func resolveTypeURLs(urls []string) error {
	out := []resolution{}
	for _, url := range urls {
		// An empty value is a valid proto message; JSON types fail to parse
		// it, but are resolved all the same (the error is not ErrNotFound).
		v, err := typeurl.UnmarshalByTypeURL(url, []byte{})
		if errors.Is(err, typeurl.ErrNotFound) {
			out = append(out, resolution{URL: url})
			continue
		}
		out = append(out, resolution{URL: url, Resolved: true, GoType: fmt.Sprintf("%T", v)})
	}
	return printJSON(out)
}

// printZeroTime marshals a StateResponse the way containerd's runc shim
// answers for a process that has not exited: ExitedAt is a non-nullable
// time.Time, so its zero value is encoded too.
func printZeroTime() error {
	raw, err := proto.Marshal(&task.StateResponse{ID: "ctr-1", Pid: 4242})
	if err != nil {
		return err
	}
	fmt.Println(base64.StdEncoding.EncodeToString(raw))
	return nil
}
