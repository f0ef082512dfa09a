import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hook } from '../../../src/oci/spec.js';
import { HookError, hooksOfKind, runHooks, stateJson, type OciState } from '../../../src/runtime/oci/hooks.js';

const SH = '/bin/sh';

/** A hook running a shell script; "$1" is `arg` (a file the script writes, usually). */
function shHook(script: string, arg = '', extra: Partial<Hook> = {}): Hook {
  return { path: SH, args: ['sh', '-c', script, 'sh', arg], ...extra };
}

/** True once `pid` no longer exists (or is a zombie nobody has reaped yet). */
async function isGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Waits (up to 10 s) for `pid` to be gone; the answer, not the time, is what tests check. */
async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await isGone(pid)) return true;
    await sleep(50);
  }
  return false;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

describe('OCI hooks on the host', () => {
  let dir: string;
  let state: OciState;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kata-ts-hooks-'));
    state = { ociVersion: '1.0.2-dev', id: 'c1', status: 'creating', pid: 4242, bundle: dir, annotations: { 'org.example/key': 'välue "quoted"\n' } };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the state arrives on stdin byte for byte, in the spec field order', async () => {
    const out = join(dir, 'state.json');
    const warnings = await runHooks([shHook('/bin/cat > "$1"', out)], state, { kind: 'prestart' });
    assert.deepEqual(warnings, []);
    const got = await readFile(out);
    assert.ok(got.equals(Buffer.from(stateJson(state))), `hook read ${JSON.stringify(got.toString())}`);
    assert.deepEqual(Object.keys(JSON.parse(got.toString()) as object), ['ociVersion', 'id', 'status', 'pid', 'bundle', 'annotations']);
    assert.deepEqual(JSON.parse(got.toString()), state);
  });

  test('stateJson leaves absent optional fields out', () => {
    assert.equal(stateJson({ ociVersion: '1.0.2', id: 'x', status: 'stopped', bundle: '/b' }), '{"ociVersion":"1.0.2","id":"x","status":"stopped","bundle":"/b"}');
  });

  test('the hook gets exactly its env, nothing of the runtime\'s', async () => {
    process.env.KATA_TS_HOOK_TEST_LEAK = 'must not reach the hook';
    try {
      const out = join(dir, 'environ');
      const env = ['A=1', 'B=two words', 'EMPTY=', 'EQ=a=b'];
      await runHooks([shHook('/bin/cat /proc/$$/environ > "$1"', out, { env })], state, { kind: 'poststart' });
      assert.equal(await readFile(out, 'utf8'), env.map((e) => `${e}\0`).join(''));
    } finally {
      delete process.env.KATA_TS_HOOK_TEST_LEAK;
    }
  });

  test('args[0] becomes argv[0]; the working directory is the bundle', async () => {
    const out = join(dir, 'cmdline');
    const hook: Hook = { path: SH, args: ['custom-argv0', '-c', '/bin/cat /proc/$$/cmdline > "$1"; /bin/pwd >> "$1"', 'sh', out] };
    await runHooks([hook], state, { kind: 'createRuntime' });
    const [cmdline, cwd] = (await readFile(out, 'utf8')).split(`${out}\0`);
    assert.equal(cmdline!.split('\0')[0], 'custom-argv0');
    assert.equal(cwd!.trim(), dir);
  });

  test('a failing prestart hook fails with its name, exit status and stderr; the hooks after it do not run', async () => {
    const marker = join(dir, 'after-failure');
    const hooks = [shHook('exit 0'), shHook('echo noise; echo first >&2; echo "  oops  " >&2; exit 3'), shHook('/bin/touch "$1"', marker)];
    await assert.rejects(runHooks(hooks, state, { kind: 'prestart' }), (err: unknown) => {
      assert.ok(err instanceof HookError);
      assert.equal(err.message, 'hooks.prestart[1] (/bin/sh): exit status 3: first\n  oops');
      assert.equal(err.kind, 'prestart');
      assert.equal(err.index, 1);
      assert.equal(err.stdout, 'noise\n');
      return true;
    });
    assert.equal(existsSync(marker), false);
  });

  test('stdout is quoted when stderr is empty; long output is cut to its last lines', async () => {
    await assert.rejects(runHooks([shHook('echo only-stdout; exit 1')], state, { kind: 'createContainer' }), {
      message: 'hooks.createContainer[0] (/bin/sh): exit status 1: only-stdout',
    });
    const script = 'i=1; while [ $i -le 30 ]; do echo line$i >&2; i=$((i+1)); done; exit 2';
    await assert.rejects(runHooks([shHook(script)], state, { kind: 'prestart' }), (err: unknown) => {
      assert.ok(err instanceof HookError);
      assert.equal(err.reason, `exit status 2: ${Array.from({ length: 10 }, (_, i) => `line${i + 21}`).join('\n')}`);
      return true;
    });
  });

  test('poststop failures are warnings: every hook runs, the failures are returned', async () => {
    const marker = join(dir, 'poststop-ran');
    const warnings = await runHooks([shHook('echo bad >&2; exit 5'), shHook('/bin/touch "$1"', marker), { path: '/nonexistent/hook' }], state, { kind: 'poststop' });
    assert.equal(existsSync(marker), true);
    assert.deepEqual(
      warnings.map((w) => w.message),
      ['hooks.poststop[0] (/bin/sh): exit status 5: bad', `hooks.poststop[2] (/nonexistent/hook): cannot execute: ENOENT (no such file, or no working directory ${dir})`],
    );
  });

  test('a hook past its timeout is killed, with what it started, and fails', async () => {
    const pidFile = join(dir, 'pids');
    const script = 'echo $$ > "$1"; /bin/sleep 1000 & echo $! >> "$1"; wait';
    await assert.rejects(runHooks([shHook(script, pidFile, { timeout: 1 })], state, { kind: 'prestart' }), {
      message: 'hooks.prestart[0] (/bin/sh): timed out after 1 s (killed)',
    });
    const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    try {
      for (const pid of pids) assert.equal(await waitGone(pid), true, `process ${pid} still runs`);
    } finally {
      pids.forEach(killQuietly);
    }
  });

  test('a hook killed by a signal says which', async () => {
    await assert.rejects(runHooks([shHook('kill -SEGV $$')], state, { kind: 'prestart' }), {
      message: 'hooks.prestart[0] (/bin/sh): killed by signal SIGSEGV',
    });
  });

  test('a hook that ignores its stdin and exits succeeds, even when the state does not fit in the pipe', async () => {
    const big: OciState = { ...state, annotations: { big: 'x'.repeat(1 << 20) } };
    assert.deepEqual(await runHooks([shHook('exit 0')], big, { kind: 'prestart' }), []);
  });

  test('a hook that leaves a child holding its stdout open still completes', async () => {
    const pidFile = join(dir, 'daemon-pid');
    let pid: number | undefined;
    try {
      await runHooks([shHook('/bin/sleep 1000 & echo $! > "$1"; exit 0', pidFile)], state, { kind: 'poststart', outputGraceMs: 50 });
      pid = Number((await readFile(pidFile, 'utf8')).trim());
      assert.equal(await isGone(pid), false, 'the daemonised child is left alone on success');
    } finally {
      if (pid === undefined && existsSync(pidFile)) pid = Number((await readFile(pidFile, 'utf8')).trim());
      if (pid !== undefined) {
        killQuietly(pid);
        await waitGone(pid);
      }
    }
  });

  test('bad hooks are refused with the field named', async () => {
    await assert.rejects(runHooks([{ path: 'relative/hook' }], state, { kind: 'prestart' }), {
      message: 'hooks.prestart[0] (relative/hook): path must be absolute',
    });
    await assert.rejects(runHooks([shHook('exit 0', '', { env: ['OK=1', 'NOEQUALS'] })], state, { kind: 'createRuntime' }), {
      message: 'hooks.createRuntime[0] (/bin/sh): env[1] "NOEQUALS" is not KEY=value',
    });
    await assert.rejects(runHooks([{ path: dir }], state, { kind: 'prestart' }), /^HookError: hooks\.prestart\[0\] \(.*\): cannot execute: EACCES$/);
  });

  test('no hooks, nothing to do; hooksOfKind reads a spec\'s hooks', async () => {
    assert.deepEqual(await runHooks(undefined, state, { kind: 'prestart' }), []);
    const h = shHook('exit 0');
    assert.deepEqual(hooksOfKind({ poststop: [h] }, 'poststop'), [h]);
    assert.deepEqual(hooksOfKind(undefined, 'prestart'), []);
  });
});
