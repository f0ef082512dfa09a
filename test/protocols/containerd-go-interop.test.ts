// Our containerd protos against containerd's own Go code (containerd 1.6.20
// and containerd/cgroups 1.0.4 from Debian's Go packages), through the
// program in interop/go/containerd-types (built here with its build.sh):
//
// - descriptors: every message, field (name, number, label, type, type
//   name, JSON name), enum and service method of our files equals what
//   containerd's generated Go code registered;
// - Go -> TS: messages marshalled by containerd's Go types, fully
//   populated, decode with our generated code to exactly our fixtures;
// - TS -> Go: our fixtures, encoded by us, decode in Go to exactly the Go
//   fixtures, and containerd's typeurl unpacks every Any we packed;
// - type URLs: which URLs containerd's typeurl resolves (bare names yes,
//   "type.googleapis.com/"-prefixed names no).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';

import { containerdTypeUrl, RUNTIME_SPEC_TYPE_URLS } from '../../src/protocols/any.js';
import { MetricsSchema as CgroupsV1MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { MetricsSchema as CgroupsV2MetricsSchema } from '../../src/protocols/gen/containerd/cgroups/v2/stats/metrics_pb.js';
import { file_containerd_events_task } from '../../src/protocols/gen/containerd/events/task_pb.js';
import { StateResponseSchema } from '../../src/protocols/gen/containerd/runtime/v2/task/shim_pb.js';
import { firstDifference, unsetFields } from './containerd-compare.js';
import {
  fixtureCases,
  PROCESS_DETAILS_TYPE_URL,
  RUNTIME_OPTIONS_TYPE_URL,
  stateResponse,
} from './containerd-fixtures.js';
import { CONTAINERD_FILES, layout } from './containerd-layout.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../interop/go/containerd-types/build.sh', import.meta.url));
const DEBIAN_PACKAGES = 'golang-go golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev';

// Build (or find up to date) the Go program before the tests are declared,
// so that a machine without the prerequisites skips them: build.sh exits
// with 3 and names what is missing. Any other failure is a real error.
const build = spawnSync(BUILD_SCRIPT, { encoding: 'utf8' });
if (build.error) throw build.error;
const skip = build.status === 3 ? build.stderr.trim() : undefined;
if (skip) {
  console.error(
    `\n*** SKIPPING the containerd Go interop tests: ${skip} ***\n` +
      `*** Install the Debian packages: ${DEBIAN_PACKAGES} ***\n`,
  );
}

function run(binary: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(binary, args, { input, encoding: 'utf8' });
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function encodeOurs(overrides: Record<string, Uint8Array> = {}): string {
  const out: Record<string, string> = {};
  for (const c of fixtureCases) {
    out[c.name] = Buffer.from(overrides[c.name] ?? toBinary(c.schema, c.message())).toString('base64');
  }
  return JSON.stringify(out);
}

describe('containerd protos against containerd 1.6 Go types', { skip: skip ? `${skip} (needs ${DEBIAN_PACKAGES})` : false }, () => {
  let binary: string;

  before(() => {
    assert.equal(build.status, 0, `interop/go/containerd-types/build.sh failed:\n${build.stderr}`);
    binary = build.stdout.trim().split('\n').pop()!;
  });

  test('every message, field, enum and service method matches containerd’s descriptors', () => {
    const res = run(binary, ['descriptors']);
    assert.equal(res.status, 0, res.stderr);
    const theirs = JSON.parse(res.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(theirs).sort(), Object.keys(CONTAINERD_FILES).sort());
    const snapshot = JSON.parse(readFileSync(new URL('./containerd-layout.json', import.meta.url), 'utf8')) as Record<
      string,
      string[]
    >;
    let lines = 0;
    for (const [goName, ours] of Object.entries(CONTAINERD_FILES)) {
      const want = layout(fromBinary(FileDescriptorProtoSchema, Buffer.from(theirs[goName]!, 'base64')));
      assert.deepEqual(layout(ours.proto), want, `${ours.proto.name} differs from containerd's ${goName}`);
      // The snapshot that containerd-protos.test.ts checks without Go must
      // be containerd's layout too.
      assert.deepEqual(snapshot[goName], want, `containerd-layout.json differs from containerd's ${goName}`);
      lines += want.length;
    }
    // A floor, so that an empty comparison cannot pass: the eight files
    // hold over 400 messages, fields, enum values and methods together.
    assert.ok(lines > 400, `only ${lines} descriptor lines compared`);
  });

  test('the fixtures set every field (so the exchanges below cover every field)', () => {
    for (const c of fixtureCases) {
      assert.deepEqual(unsetFields(c.schema, c.message()), [], `fixture ${c.name} leaves fields unset`);
    }
  });

  test('messages marshalled by containerd’s Go code decode to our fixtures', () => {
    const res = run(binary, ['encode']);
    assert.equal(res.status, 0, res.stderr);
    const fromGo = JSON.parse(res.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(fromGo).sort(), fixtureCases.map((c) => c.name).sort());
    for (const c of fixtureCases) {
      const got = fromBinary(c.schema, Buffer.from(fromGo[c.name]!, 'base64'));
      assert.equal(firstDifference(c.schema, got, c.message()), undefined, `case ${c.name}`);
    }
  });

  test('our encodings decode in containerd’s Go code to the Go fixtures', () => {
    const res = run(binary, ['decode'], encodeOurs());
    assert.equal(res.status, 0, `Go decode failed: ${res.stderr}`);
    assert.deepEqual(
      res.stdout.trim().split('\n'),
      fixtureCases.map((c) => `ok ${c.name}`),
    );
  });

  test('the Go side notices a wrong value and names the field', () => {
    const wrong = stateResponse();
    wrong.exitStatus = 1;
    const res = run(binary, ['decode'], encodeOurs({ StateResponse: toBinary(StateResponseSchema, wrong) }));
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /case StateResponse: StateResponse\.ExitStatus: 1, want 137/);
  });

  test('containerd’s typeurl resolves the type URLs we write, and not prefixed ones', () => {
    const bare = [
      ...file_containerd_events_task.messages.filter((m) => m.name !== 'TaskIO').map((m) => containerdTypeUrl(m)),
      containerdTypeUrl(CgroupsV1MetricsSchema),
      containerdTypeUrl(CgroupsV2MetricsSchema),
      RUNTIME_OPTIONS_TYPE_URL,
      PROCESS_DETAILS_TYPE_URL,
      ...Object.values(RUNTIME_SPEC_TYPE_URLS),
    ];
    const prefixed = ['containerd.events.TaskExit', 'io.containerd.cgroups.v1.Metrics'].map(
      (n) => `type.googleapis.com/${n}`,
    );
    const res = run(binary, ['resolve', ...bare, ...prefixed]);
    assert.equal(res.status, 0, res.stderr);
    const answers = JSON.parse(res.stdout) as { url: string; resolved: boolean; goType?: string }[];
    const byUrl = new Map(answers.map((a) => [a.url, a]));
    for (const url of bare) assert.equal(byUrl.get(url)?.resolved, true, `containerd does not resolve ${url}`);
    for (const url of prefixed) assert.equal(byUrl.get(url)?.resolved, false, `containerd resolves ${url}`);
    // The Go types ctr's metrics command switches on.
    assert.equal(byUrl.get('io.containerd.cgroups.v1.Metrics')?.goType, '*v1.Metrics');
    assert.equal(byUrl.get('io.containerd.cgroups.v2.Metrics')?.goType, '*stats.Metrics');
    assert.equal(byUrl.get('containerd.events.TaskExit')?.goType, '*events.TaskExit');
    assert.equal(byUrl.get(RUNTIME_SPEC_TYPE_URLS.process)?.goType, '*specs.Process');
  });

  test('an exited_at containerd leaves unset arrives as Go’s zero time', () => {
    // containerd's Go types cannot leave these timestamps out: an unset one
    // is a zero time.Time, encoded as 0001-01-01T00:00:00Z.
    const res = run(binary, ['zero-time']);
    assert.equal(res.status, 0, res.stderr);
    const state = fromBinary(StateResponseSchema, Buffer.from(res.stdout.trim(), 'base64'));
    assert.equal(state.pid, 4242);
    assert.equal(state.exitedAt?.seconds, -62135596800n);
    assert.equal(state.exitedAt?.nanos, 0);
  });
});
