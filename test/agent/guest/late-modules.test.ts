// Late kernel modules: the agent runs the guest's shell over the list once it
// listens; ready() resolves when that has ended, and failures are logged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadLateModules, NO_LATE_MODULES } from '../../../src/agent/guest/late-modules.js';

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

  test('a shell that cannot be run is logged, and ready() still resolves', async () => {
    const { logger, records } = recordingLogger();
    await loadLateModules('/nonexistent.load', logger, '/nonexistent/sh').ready();
    assert.ok(records.some((r) => r.msg === 'cannot load the late kernel modules'), JSON.stringify(records));
  });
});
