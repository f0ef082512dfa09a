// The command line's own parsing and formatting (signals, sizes, durations,
// runc's stats JSON), `check`/`env`/`features` through the real binary, and,
// in one VM, `events`: a memory limit set by `update` shows in the stats and
// an out-of-memory kill is reported as {"type":"oom"}.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { MetricsSchema } from '../../../src/protocols/gen/containerd/cgroups/stats/v1/metrics_pb.js';
import { jsonWithBigInts, parseDuration, runcStats } from '../../../src/runtime/cli/commands/events.js';
import { parseSignal } from '../../../src/runtime/cli/commands/kill.js';
import { parseBytes, resourcesFromFlags } from '../../../src/runtime/cli/commands/update.js';
import { CliError } from '../../../src/runtime/cli/context.js';
import { busyboxSpec, createBusyboxRootfs, type BusyboxRootfs } from '../../helpers/busybox-rootfs.js';
import { binPath, run } from '../../helpers/processes.js';
import { entries, imageMissing, waitNoProcessesMentioning } from '../helpers.js';

const RUNTIME = binPath('kata-ts-runtime');

describe('command line parsing and formatting', () => {
  test('signals by name, with or without SIG, any case, or number', () => {
    assert.equal(parseSignal('TERM'), 15);
    assert.equal(parseSignal('SIGKILL'), 9);
    assert.equal(parseSignal('usr1'), 10);
    assert.equal(parseSignal('12'), 12);
    for (const bad of ['0', '65', 'NOPE', '-9', '']) assert.throws(() => parseSignal(bad), CliError, bad);
  });

  test('sizes with units; -1 is unlimited; garbage is refused naming the flag', () => {
    assert.equal(parseBytes('memory', '1048576'), 1048576);
    assert.equal(parseBytes('memory', '64m'), 64 * 1024 ** 2);
    assert.equal(parseBytes('memory', '1G'), 1024 ** 3);
    assert.equal(parseBytes('memory', '512KiB'), 512 * 1024);
    assert.equal(parseBytes('memory', '-1'), -1);
    assert.throws(() => parseBytes('memory', 'lots'), /--memory: "lots"/);
  });

  test('update flags build LinuxResources on top of --resources', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-update-'));
    try {
      const file = join(dir, 'r.json');
      await writeFile(file, JSON.stringify({ memory: { limit: 1, swap: 5 }, cpu: { shares: 2 } }));
      assert.deepEqual(await resourcesFromFlags({ resources: file, memory: '64m', pidsLimit: '20', cpusetCpus: '0-1', cpuQuota: '5000' }), {
        memory: { limit: 64 * 1024 ** 2, swap: 5 },
        cpu: { shares: 2, cpus: '0-1', quota: 5000 },
        pids: { limit: 20 },
      });
      await writeFile(file, '[1]');
      await assert.rejects(resourcesFromFlags({ resources: file }), /not a JSON object/);
      await assert.rejects(resourcesFromFlags({ pidsLimit: 'x' }), /--pids-limit/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('durations', () => {
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2'), 2000);
    assert.equal(parseDuration('1m'), 60_000);
    assert.throws(() => parseDuration('0s'), CliError);
    assert.throws(() => parseDuration('soon'), CliError);
  });

  test("stats in runc's shape, with 64-bit counters exact", () => {
    const m = create(MetricsSchema, {
      cpu: { usage: { total: 10n, kernel: 3n, user: 7n, perCpu: [4n, 6n] }, throttling: { periods: 1n } },
      memory: { cache: 5n, rss: 9n, usage: { usage: 100n, limit: 18446744073709551615n, max: 120n, failcnt: 2n } },
      pids: { current: 3n, limit: 99n },
      hugetlb: [{ pagesize: '2MB', usage: 1n, max: 2n, failcnt: 0n }],
    });
    const text = jsonWithBigInts({ type: 'stats', id: 'x', data: runcStats(m) });
    assert.match(text, /"limit":18446744073709551615/);
    const doc = JSON.parse(text) as { data: Record<string, any> };
    assert.deepEqual(doc.data.cpu.usage, { total: 10, percpu: [4, 6], kernel: 3, user: 7 });
    assert.equal(doc.data.memory.usage.usage, 100);
    assert.equal(doc.data.memory.raw.rss, 9);
    assert.deepEqual(doc.data.pids, { current: 3, limit: 99 });
    assert.deepEqual(doc.data.hugetlb, { '2MB': { usage: 1, max: 2, failcnt: 0 } });
  });
});

describe('kata-ts-runtime check, env, features', () => {
  test('check --json: one verdict consistent with its checks and exit status', async () => {
    const res = await run(RUNTIME, ['check', '--json']);
    const report = JSON.parse(res.stdout) as { verdict: string; exitCode: number; checks: { name: string; ok: boolean }[] };
    assert.equal(res.code, report.exitCode, res.stderr);
    assert.equal(report.verdict === 'no', report.exitCode === 1);
    assert.ok(report.checks.some((c) => c.name === 'qemu'));
  });

  test('env: JSON with our version and the effective QEMU path', async () => {
    const res = await run(RUNTIME, ['env']);
    assert.equal(res.code, 0, res.stderr);
    const env = JSON.parse(res.stdout) as { kataTs: { version: string }; config: { qemu: { path: string } } };
    assert.match(env.kataTs.version, /^\d+\.\d+\.\d+/);
    assert.match(env.config.qemu.path, /qemu-system-x86_64$/);
  });

  test('a bad configuration is named by its file and key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kata-ts-cfg-'));
    try {
      await writeFile(join(dir, 'c.toml'), '[hypervisor.qemu]\ndefault_vcpus = "many"\n');
      const res = await run(RUNTIME, ['--config', join(dir, 'c.toml'), 'env']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /c\.toml: hypervisor\.qemu\.default_vcpus/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kata-ts-runtime events in a VM', { skip: imageMissing() }, () => {
  let dir: string;
  let rootfs: BusyboxRootfs;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-events-'));
    rootfs = await createBusyboxRootfs();
  });
  after(async () => {
    await rootfs?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('update --memory shows in events --stats; an OOM kill is reported as an oom event', async () => {
    const root = join(dir, 'root');
    const bundle = join(dir, 'bundle');
    await mkdir(bundle);
    // Waits for a file, then eats memory until the OOM killer ends the eater.
    const script = 'while [ ! -e /tmp/go ]; do sleep 0.2; done; head -c 400m /dev/zero | tail > /dev/null; sleep 1000';
    await writeFile(join(bundle, 'config.json'), JSON.stringify(busyboxSpec({ rootfs: rootfs.rootfs, args: ['sh', '-c', script], readonlyRoot: false })));
    const quiet = async (args: string[]) => {
      const out = openSync(join(dir, 'out'), 'w');
      const child = spawn(RUNTIME, ['--root', root, ...args], { stdio: ['ignore', out, out] });
      closeSync(out);
      const [code] = (await once(child, 'exit')) as [number];
      return { code, output: readFileSync(join(dir, 'out'), 'utf8') };
    };
    const started = await quiet(['run', '--detach', '--bundle', bundle, 'ev']);
    assert.equal(started.code, 0, started.output);
    try {
      const upd = await run(RUNTIME, ['--root', root, 'update', '--memory', '48m', '--memory-swap', '48m', 'ev']);
      assert.equal(upd.code, 0, upd.stderr);
      const stats = await run(RUNTIME, ['--root', root, 'events', '--stats', 'ev']);
      assert.equal(stats.code, 0, stats.stderr);
      const line = JSON.parse(stats.stdout) as { type: string; id: string; data: { memory: { usage: { limit: number } } } };
      assert.equal(line.type, 'stats');
      assert.equal(line.data.memory.usage.limit, 48 * 1024 * 1024);

      const events = spawn(RUNTIME, ['--root', root, 'events', '--interval', '1s', 'ev'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let seen = '';
      events.stdout.setEncoding('utf8').on('data', (d: string) => (seen += d));
      try {
        while (!seen.includes('"type":"stats"')) await sleep(100);
        const go = await run(RUNTIME, ['--root', root, 'exec', 'ev', 'touch', '/tmp/go']);
        assert.equal(go.code, 0, go.stderr);
        const deadline = Date.now() + 90_000;
        while (!seen.includes('"type":"oom"')) {
          assert.ok(Date.now() < deadline, `no oom event: ${seen.slice(-500)}`);
          await sleep(200);
        }
        assert.ok(seen.split('\n').some((l) => l === '{"type":"oom","id":"ev"}'), seen);
      } finally {
        events.kill();
      }
    } finally {
      const del = await run(RUNTIME, ['--root', root, 'delete', '--force', 'ev']);
      assert.equal(del.code, 0, del.stderr);
    }
    assert.deepEqual(await waitNoProcessesMentioning(root, 10_000), []);
    assert.deepEqual(await entries(root), []);
  });
});
