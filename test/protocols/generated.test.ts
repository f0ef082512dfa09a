// The generated TypeScript under src/protocols/gen is committed. This test
// runs the generator again, into a temporary directory, and checks that the
// committed files are exactly what the current .proto sources produce, so a
// .proto edit without `npm run gen:proto` is caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const binDir = join(repoRoot, 'node_modules', '.bin');
const bufBin = join(binDir, process.platform === 'win32' ? 'buf.cmd' : 'buf');
const committedDir = join(repoRoot, 'src', 'protocols', 'gen');
// buf.gen.yaml writes to this path relative to the output base directory.
const genRelPath = join('src', 'protocols', 'gen');

// The generator needs protoc-gen-es on PATH, as it is under `npm run`.
const env = { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}` };

function bufUnavailableReason(): string | undefined {
  const probe = spawnSync(bufBin, ['--version'], { env, encoding: 'utf8' });
  if (probe.error) return `buf cannot be started (${probe.error.message})`;
  if (probe.status !== 0) return `buf --version exited with ${probe.status}: ${probe.stderr}`;
  return undefined;
}

const skipReason = bufUnavailableReason();

// Every *_pb.ts below dir, as paths relative to it ("agent_pb.ts",
// "containerd/events/task_pb.ts"): protos in subdirectories generate into
// matching subdirectories.
function generatedFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('_pb.ts'))
    .map((name) => name.split(sep).join('/'))
    .sort();
}

test(
  'committed src/protocols/gen matches a fresh `buf generate`',
  { skip: skipReason ? `skipped: ${skipReason}; run \`npm install\` to get the buf binary` : false },
  () => {
    const outBase = mkdtempSync(join(tmpdir(), 'kata-ts-gen-'));
    try {
      // -o redirects every plugin `out` below outBase, so src/ is not touched.
      const run = spawnSync(bufBin, ['generate', '-o', outBase], {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, `buf generate failed:\n${run.stdout}${run.stderr}`);

      const freshDir = join(outBase, genRelPath);
      const fresh = generatedFiles(freshDir);
      const committed = generatedFiles(committedDir);
      assert.ok(fresh.length > 0, 'the generator produced no *_pb.ts files');
      // The containerd protos live in subdirectories; make sure they are
      // part of the comparison.
      assert.ok(
        fresh.includes('containerd/runtime/v2/task/shim_pb.ts'),
        `containerd/runtime/v2/task/shim_pb.ts not among the generated files: ${fresh.join(', ')}`,
      );
      assert.deepEqual(
        committed,
        fresh,
        'the set of committed *_pb.ts files differs from what the generator produces ' +
          '(a missing or stale file); run `npm run gen:proto`',
      );
      for (const name of fresh) {
        const want = readFileSync(join(freshDir, name));
        const have = readFileSync(join(committedDir, name));
        assert.ok(
          want.equals(have),
          `src/protocols/gen/${name} is out of date with its .proto source; run \`npm run gen:proto\``,
        );
      }
    } finally {
      rmSync(outBase, { recursive: true, force: true });
    }
  },
);
