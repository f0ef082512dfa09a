// The generated /init: valid shell, the agent command and module list it was
// given; and run_agent, which starts the agent from its startup snapshot when
// node takes it and from its script otherwise, run for real by busybox sh.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderInit, renderRunAgent, shellQuote, SNAPSHOT_REFUSED_STATUS } from '../../src/image/init-script.js';

describe('/init', () => {
  const script = renderInit({
    moduleList: '/etc/kata-ts/modules.load',
    lateModuleList: '/etc/kata-ts/modules-late.load',
    agentCommand: ['/usr/bin/node', '/opt/kata-ts/agent.mjs'],
    agentArgs: ['--log-level', "it's"],
    snapshot: { blob: '/opt/kata-ts/agent.blob', command: ['/usr/bin/node', '--snapshot-blob', '/opt/kata-ts/agent.blob', '--'] },
    ociRuntime: '/usr/bin/crun',
  });

  test('busybox sh accepts it', () => {
    const res = spawnSync('busybox', ['sh', '-n'], { input: script, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(script.startsWith('#!/bin/sh\n'));
  });

  test('loads the module list, waits for the serial port, runs the agent, powers off after it', () => {
    assert.match(script, /^load_modules \/etc\/kata-ts\/modules\.load$/m);
    assert.match(script, /done < "\$1"$/m);
    // The late list is the agent's to load, once it listens.
    assert.match(script, /^export KATA_TS_LATE_MODULES=\/etc\/kata-ts\/modules-late\.load$/m);
    assert.doesNotMatch(script, /load_modules \/etc\/kata-ts\/modules-late\.load/);
    assert.match(script, /mount -t cgroup2 .* \/sys\/fs\/cgroup/);
    assert.match(script, /\/sys\/class\/virtio-ports\/vport\*/);
    assert.match(script, /^set -- --log-level 'it'\\''s'$/m);
    assert.match(script, /^export UV_THREADPOOL_SIZE=16$/m, 'a larger libuv pool, before node starts');
    assert.match(script, /--oci-runtime \/usr\/bin\/crun/);
    assert.match(script, /^ {2}\/usr\/bin\/node \/opt\/kata-ts\/agent\.mjs "\$@"$/m);
    assert.match(script, /^ {4}\/usr\/bin\/node --snapshot-blob \/opt\/kata-ts\/agent\.blob -- "\$@"$/m);
    assert.match(script, /^ {2}run_agent "\$@"$/m);
    assert.match(script, /agent\.debug_console/);
    assert.ok(script.trimEnd().endsWith('poweroff -f'));
  });

  test('without a late module list or a snapshot, the agent is told of neither', () => {
    const plain = renderInit({ moduleList: '/m', agentCommand: ['/a'], ociRuntime: 'crun' });
    assert.doesNotMatch(plain, /KATA_TS_LATE_MODULES/);
    assert.doesNotMatch(plain, /snapshot/);
    assert.match(plain, /^set --$/m);
    assert.equal(spawnSync('busybox', ['sh', '-n'], { input: plain }).status, 0);
  });

  test('shellQuote leaves plain words alone and quotes the rest', () => {
    assert.equal(shellQuote('/usr/bin/node'), '/usr/bin/node');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
  });
});

describe('run_agent', () => {
  /**
   * Runs `run_agent 'a b' c` with busybox sh and a fake node that records
   * its arguments ("|" after each) and exits with SNAPSHOT_STATUS when given a snapshot,
   * SCRIPT_STATUS otherwise.
   */
  function runAgent(opts: { blob: boolean; snapshotStatus?: number; scriptStatus?: number }): { status: number | null; calls: string[]; log: string } {
    const dir = mkdtempSync(join(tmpdir(), 'kata-run-agent-'));
    try {
      const node = join(dir, 'node');
      const calls = join(dir, 'calls');
      writeFileSync(node, '#!/bin/sh\nprintf "%s|" "$@" >> "$CALLS"\necho >> "$CALLS"\ncase "$1" in --snapshot-blob) exit "$SNAPSHOT_STATUS" ;; esac\nexit "$SCRIPT_STATUS"\n');
      chmodSync(node, 0o755);
      writeFileSync(calls, '');
      const blob = join(dir, 'agent.blob');
      if (opts.blob) writeFileSync(blob, 'snapshot');
      const fn = renderRunAgent({ agentCommand: [node, '/opt/kata-ts/agent.mjs'], snapshot: { blob, command: [node, '--snapshot-blob', blob, '--'] } });
      const res = spawnSync('busybox', ['sh', '-c', `log() { echo "init: $*"; }\n${fn}\nrun_agent 'a b' c`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, CALLS: calls, SNAPSHOT_STATUS: String(opts.snapshotStatus ?? 0), SCRIPT_STATUS: String(opts.scriptStatus ?? 0) },
      });
      const recorded = readFileSync(calls, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => l.replaceAll(dir, 'DIR'));
      return { status: res.status, calls: recorded, log: res.stdout + res.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('from the snapshot when node takes it: its exit status, and the script is not run', () => {
    const r = runAgent({ blob: true, snapshotStatus: 0, scriptStatus: 9 });
    assert.equal(r.status, 0);
    assert.deepEqual(r.calls, ['--snapshot-blob|DIR/agent.blob|--|a b|c|']);
    assert.match(r.log, /init: starting the agent from its startup snapshot \(uptime [\d.]+ s\)/);
  });

  test('an agent that fails from the snapshot is not started again', () => {
    const r = runAgent({ blob: true, snapshotStatus: 3, scriptStatus: 0 });
    assert.equal(r.status, 3);
    assert.equal(r.calls.length, 1);
  });

  test(`node refusing the snapshot (status ${SNAPSHOT_REFUSED_STATUS}): logged, and the agent starts from its script with the same arguments`, () => {
    const r = runAgent({ blob: true, snapshotStatus: SNAPSHOT_REFUSED_STATUS, scriptStatus: 5 });
    assert.equal(r.status, 5);
    assert.deepEqual(r.calls, ['--snapshot-blob|DIR/agent.blob|--|a b|c|', '/opt/kata-ts/agent.mjs|a b|c|']);
    assert.match(r.log, /init: node refused the startup snapshot .*starting the agent from its script/);
  });

  test('without the snapshot file: from the script', () => {
    const r = runAgent({ blob: false, scriptStatus: 0 });
    assert.equal(r.status, 0);
    assert.deepEqual(r.calls, ['/opt/kata-ts/agent.mjs|a b|c|']);
    assert.match(r.log, /init: starting the agent \(uptime/);
  });
});
