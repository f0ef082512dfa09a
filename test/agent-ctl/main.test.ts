// agent-ctl driving a real agent process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { binPath, run, start, stop, waitForPath } from '../helpers/processes.js';

const CTL = binPath('kata-ts-agent-ctl');
let dir: string;
let agent: ChildProcess;
let hvAgent: ChildProcess;
let sock: string;
let hvSock: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kata-ctl-'));
  sock = join(dir, 'agent.sock');
  hvSock = join(dir, 'hv.sock');
  agent = start(binPath('kata-ts-agent'), ['--server-addr', `unix://${sock}`, '--state-dir', join(dir, 'state1'), '--no-kernel-cmdline']).child;
  // The agent behind a hybrid-vsock style socket (CONNECT <port> / OK handshake).
  hvAgent = start(binPath('kata-ts-agent'), ['--server-addr', `hvsock://${hvSock}:1024`, '--state-dir', join(dir, 'state2'), '--no-kernel-cmdline']).child;
  await waitForPath(sock);
  await waitForPath(hvSock);
});

after(async () => {
  await stop(agent);
  await stop(hvAgent);
  rmSync(dir, { recursive: true, force: true });
});

function lines(stdout: string): Array<Record<string, unknown>> {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('Check, Version, GetGuestDetails: one JSON line each, exit 0', async () => {
  const r = await run(CTL, ['connect', '--server-address', `unix://${sock}`, '-c', 'Check', '-c', 'Version', '-c', 'GetGuestDetails']);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.deepEqual(out[0], { command: 'Check', response: { status: 'SERVING' } });
  assert.equal(out[1]!.command, 'Version');
  assert.equal((out[1]!.response as Record<string, string>).grpc_version, '0.0.1');
  const details = out[2]!.response as Record<string, unknown>;
  assert.equal(out[2]!.command, 'GetGuestDetails');
  assert.ok('mem_block_size_bytes' in details && 'support_mem_hotplug_probe' in details && 'agent_details' in details);
});

test('upstream names, built-ins and repeat', async () => {
  const r = await run(CTL, ['connect', '--server-address', `unix://${sock}`, '-c', 'repeat 3', '-c', 'Check', '-c', 'echo done', '-c', 'sleep 10ms', '-c', 'GuestDetails']);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.deepEqual(out.map((o) => o.command ?? o.echo), ['Check', 'Check', 'Check', 'done', 'GetGuestDetails']);
});

test('json:// and file:// requests', async () => {
  const req = join(dir, 'req.json');
  writeFileSync(req, JSON.stringify({ mem_block_size: true }));
  const r = await run(CTL, ['connect', '--server-address', `unix://${sock}`, '-n', '-c', 'GetGuestDetails json://{"mem_hotplug_probe": true}', '-c', `GetGuestDetails file://${req}`]);
  assert.equal(r.code, 0, r.stderr);
  const [a, b] = lines(r.stdout).map((o) => o.response as Record<string, unknown>);
  assert.equal(a!.mem_block_size_bytes, '0', 'not asked for: not filled');
  assert.notEqual(b!.mem_block_size_bytes, undefined);
});

test('an unsupported RPC prints its NOT_FOUND status and exits 1; --ignore-errors carries on', async () => {
  const r = await run(CTL, ['connect', '--server-address', `unix://${sock}`, '-c', 'SetPolicy policy=x', '-c', 'Check']);
  assert.equal(r.code, 1);
  assert.deepEqual(lines(r.stdout), [{ command: 'SetPolicy', error: { code: 'NOT_FOUND', message: '/grpc.AgentService/SetPolicy is not supported' } }]);
  const r2 = await run(CTL, ['connect', '--server-address', `unix://${sock}`, '--ignore-errors', '-c', 'SetPolicy policy=x', '-c', 'Check']);
  assert.equal(r2.code, 1);
  assert.equal(lines(r2.stdout).length, 2);
});

test('hybrid vsock: --hybrid-vsock turns unix:// into the CONNECT/OK handshake', async () => {
  const r = await run(CTL, ['connect', '--server-address', `unix://${hvSock}`, '--hybrid-vsock', '-c', 'Check']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [{ command: 'Check', response: { status: 'SERVING' } }]);
});

test('usage errors: message on stderr, nothing on stdout, non-zero exit', async () => {
  for (const args of [
    ['connect', '--server-address', `unix://${sock}`, '-c', 'NoSuchCall'],
    ['connect', '--server-address', `unix://${sock}`, '-c', 'Check bogus'],
    ['connect', '--server-address', `unix://${sock}`, '-c', 'WaitProcess nofield=1'],
    ['connect', '--server-address', `unix://${sock}`],
    ['connect', '--server-address', `unix://${join(dir, 'absent.sock')}`, '--timeout', '300ms', '-c', 'Check'],
    ['connect', '--server-address', 'tcp://x', '-c', 'Check'],
  ]) {
    const r = await run(CTL, args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, /kata-ts-agent-ctl: \S/, args.join(' '));
  }
});
