// Late kernel modules: the agent runs the guest's shell over the list once it
// listens; ready() resolves when that has ended, and failures are logged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LATE_MODULES_NICENESS, loadLateModules, NO_LATE_MODULES } from '../../../src/agent/guest/late-modules.js';

/** Our child processes whose command line mentions `word`, with their niceness (from /proc). */
function childrenWith(word: string): { pid: number; nice: number }[] {
  const found: { pid: number; nice: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after "pid (comm) ": state, ppid, ... nice is field 19.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(word)) continue;
      found.push({ pid: Number(name), nice: Number(rest[16]) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A logger that keeps its records. */
function recordingLogger(): { logger: pino.Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

describe('late kernel modules', () => {
  test('without a list, ready at once', async () => {
    await NO_LATE_MODULES.ready();
  });

  test('an empty list loads nothing and logs success', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-late-'));
    try {
      const list = join(dir, 'modules.load');
      writeFileSync(list, '\n');
      const { logger, records } = recordingLogger();
      const late = loadLateModules(list, logger);
      await late.ready();
      assert.ok(records.some((r) => r.msg === 'late kernel modules loaded'), JSON.stringify(records));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a module that cannot be loaded is logged by name, and ready() still resolves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-late-'));
    try {
      const list = join(dir, 'modules.load');
      const missing = join(dir, 'no-such-module.ko');
      writeFileSync(list, `${missing}\n`);
      const { logger, records } = recordingLogger();
      await loadLateModules(list, logger).ready();
      const failure = records.find((r) => r.msg === 'loading the late kernel modules failed');
      assert.ok(failure, JSON.stringify(records));
      assert.equal(failure.code, 1);
      assert.match(String(failure.stderr), new RegExp(`insmod ${missing} failed`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the loading shell runs at the lowest priority, so that the agent comes first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kata-late-'));
    try {
      // A FIFO as the list: the shell blocks opening it until we write.
      const list = join(dir, 'modules.load');
      assert.equal(spawnSync('mkfifo', [list]).status, 0);
      const { logger, records } = recordingLogger();
      const late = loadLateModules(list, logger);
      const shells = childrenWith(list);
      assert.equal(shells.length, 1, JSON.stringify(shells));
      assert.equal(shells[0]!.nice, LATE_MODULES_NICENESS);
      writeFileSync(list, '\n');
      await late.ready();
      assert.ok(records.some((r) => r.msg === 'late kernel modules loaded'), JSON.stringify(records));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a shell that cannot be run is logged, and ready() still resolves', async () => {
    const { logger, records } = recordingLogger();
    await loadLateModules('/nonexistent.load', logger, '/nonexistent/sh').ready();
    assert.ok(records.some((r) => r.msg === 'cannot load the late kernel modules'), JSON.stringify(records));
  });
});
