// The OCI runtime command-line contract (test/bats/oci-contract.bats) run
// against each runc-compatible runtime in TARGETS, with runc as the control:
// the contract is what runc does, so every bats test must pass on runc.
//
// Each bats test becomes a subtest here; a failure's message holds bats's
// TAP diagnostics for that test, and a failing run as a whole the full TAP
// output. Afterwards the temporary directory the run was given must be
// empty, and no process or cgroup of the run's containers may remain.
//
// Set OCI_CONTRACT_RUNTIMES to a comma-separated list of runtimes (names on
// PATH or paths) to run the contract against those instead of TARGETS, e.g.
//   OCI_CONTRACT_RUNTIMES=runc,bin/kata-ts-runtime node scripts/run-tests.mjs oci-contract
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readlink, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { binPath, REPO_ROOT } from '../../helpers/processes.js';
import { imageMissing } from '../helpers.js';

const BATS_FILE = join(REPO_ROOT, 'test/bats/oci-contract.bats');

interface Target {
  /** Shown in the test names. */
  name: string;
  /** The runtime: a command on PATH or an absolute path. */
  command: string;
  /** Global options put before every subcommand (RUNTIME_ARGS for bats). */
  args?: string[];
  /** Why this target cannot run here, or undefined. */
  skip?: () => string | undefined;
}

/** The runtimes the contract runs against by default: runc, the control, and ours (VMs; needs the guest image). */
const TARGETS: Target[] = [
  { name: 'runc', command: 'runc', skip: () => (onPath('runc') ? undefined : 'runc is not installed (Debian package runc)') },
  { name: 'kata-ts-runtime', command: binPath('kata-ts-runtime'), skip: imageMissing },
];

/** OCI_CONTRACT_RUNTIMES, when set, replaces TARGETS. */
function targets(): Target[] {
  const fromEnv = process.env.OCI_CONTRACT_RUNTIMES?.trim();
  if (!fromEnv) return TARGETS;
  return fromEnv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((command) => {
      // A relative path is taken from the repository root.
      const abs = command.includes('/') && !isAbsolute(command) ? resolve(REPO_ROOT, command) : command;
      return { name: basename(command), command: abs, skip: () => (onPath(abs) ? undefined : `${abs} not found`) };
    });
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', command]).status === 0;
}

/** Why bats cannot run the contract here, or undefined. */
function batsMissing(): string | undefined {
  if (!onPath('bats')) return 'bats is not installed (Debian packages bats, bats-assert, bats-support)';
  if (!onPath('jq')) return 'jq is not installed (Debian package jq)';
  return undefined;
}

/** One test's result in bats's TAP output. */
interface TapResult {
  ok: boolean;
  number: number;
  name: string;
  /** The reason, when bats skipped the test. */
  skip?: string;
  /** The `# ` lines that followed, without the prefix. */
  diagnostics: string[];
}

/** Parses `bats --tap` output: `ok N name`, `not ok N name`, `# skip reason`, diagnostics. */
function parseTap(tap: string): { plan?: number; results: TapResult[] } {
  const results: TapResult[] = [];
  let plan: number | undefined;
  for (const line of tap.split('\n')) {
    const planMatch = /^1\.\.(\d+)$/.exec(line);
    if (planMatch) {
      plan = Number(planMatch[1]);
      continue;
    }
    const m = /^(not )?ok (\d+) (.*)$/.exec(line);
    if (m) {
      let name = m[3]!;
      let skip: string | undefined;
      const s = / # skip(?: (.*))?$/.exec(name);
      if (s) {
        skip = s[1] ?? 'skipped';
        name = name.slice(0, s.index);
      }
      results.push({ ok: m[1] === undefined, number: Number(m[2]), name, ...(skip !== undefined ? { skip } : {}), diagnostics: [] });
      continue;
    }
    if (line.startsWith('#') && results.length > 0) results.at(-1)!.diagnostics.push(line.replace(/^# ?/, ''));
  }
  return plan === undefined ? { results } : { plan, results };
}

/**
 * Processes whose command line, root or working directory is under `dir`,
 * or whose cgroup path holds `tag`. Zombies do not count: they are dead,
 * only not yet reaped by their parent (often init, not us).
 */
async function processesUsing(dir: string, tag: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
      const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8');
      const root = await readlink(`/proc/${pid}/root`).catch(() => '');
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
      if (cmdline.includes(dir) || root.startsWith(dir) || cwd.startsWith(dir) || cgroup.includes(tag)) found.push(`${pid} ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Cgroup directories (any hierarchy, a few levels deep) whose name holds `tag`. */
async function cgroupsNamed(tag: string, dir = '/sys/fs/cgroup', depth = 6): Promise<string[]> {
  if (depth === 0) return [];
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found; // no cgroup file system, or it went away
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const path = join(dir, e.name);
    if (e.name.includes(tag)) found.push(path);
    found.push(...(await cgroupsNamed(tag, path, depth - 1)));
  }
  return found;
}

async function runContract(t: TestContext, target: Target): Promise<void> {
  // bats puts its run directory in TMPDIR and the contract its work area:
  // one fresh directory per run, to check afterwards that it is empty.
  const tmp = await mkdtemp(join(tmpdir(), 'kata-ts-oci-contract-'));
  // Every container id starts with this: it names the run's cgroups.
  const tag = `oci${randomBytes(3).toString('hex')}`;
  try {
    const child = spawn('bats', ['--tap', BATS_FILE], {
      env: {
        ...process.env,
        RUNTIME: target.command,
        RUNTIME_ARGS: (target.args ?? []).join(' '),
        TMPDIR: tmp,
        OCI_TEST_TAG: tag,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: t.signal,
    });
    let tap = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (tap += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];

    const { plan, results } = parseTap(tap);
    for (const r of results) {
      const block = [`${r.ok ? 'ok' : 'not ok'} ${r.number} ${r.name}`, ...r.diagnostics.map((d) => `# ${d}`)].join('\n');
      await t.test(r.name, r.skip !== undefined ? { skip: r.skip } : {}, () => {
        assert.ok(r.ok, `bats test failed on ${target.name}:\n${block}`);
      });
    }
    await t.test('every planned bats test ran and bats succeeded', () => {
      const full = `bats exit status ${code}\n--- TAP ---\n${tap}\n--- stderr ---\n${stderr}`;
      assert.ok(plan !== undefined && plan > 0, `no TAP plan from bats:\n${full}`);
      assert.ok(results.length >= plan, `bats planned ${plan} tests but reported ${results.length}:\n${full}`);
      assert.equal(code, 0, full);
    });
    await t.test('the run left no file, process or cgroup behind', async () => {
      assert.deepEqual(await processesUsing(tmp, tag), [], 'processes left running');
      assert.deepEqual(await cgroupsNamed(tag), [], 'cgroups left');
      assert.deepEqual(await readdir(tmp), [], 'files left in the temporary directory');
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

for (const target of targets()) {
  describe(`OCI command-line contract on ${target.name}`, () => {
    const skip = batsMissing() ?? target.skip?.();
    // A VM runtime boots one VM per container: allow for it.
    test('test/bats/oci-contract.bats', { ...(skip !== undefined ? { skip } : {}), timeout: 45 * 60_000 }, async (t) => {
      await runContract(t, target);
    });
  });
}
