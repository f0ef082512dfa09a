// The agent binary as a user runs it: listens where told, answers Health and
// AgentService, stops cleanly on SIGTERM and removes its socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, connect, createClient, Code, isTtrpcError } from '../../src/ttrpc/index.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { AgentService } from '../../src/protocols/gen/agent_pb.js';
import { binPath, run, start, stop, waitForPath } from '../helpers/processes.js';

const AGENT = binPath('kata-ts-agent');

async function withClient<T>(uri: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client(await connect(uri, { timeoutMs: 10_000 }));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

test('serves Health and AgentService on a unix socket; SIGTERM exits 0 and removes the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-'));
  const sock = join(dir, 'agent.sock');
  const agent = start(AGENT, ['--server-addr', `unix://${sock}`, '--state-dir', join(dir, 'state'), '--no-kernel-cmdline']);
  try {
    await waitForPath(sock);
    await withClient(`unix://${sock}`, async (c) => {
      const health = createClient(c, Health);
      assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
      const v = await health.version({});
      assert.equal(v.grpcVersion, '0.0.1');
      assert.match(v.agentVersion, /^\d+\.\d+\.\d+/);

      const api = createClient(c, AgentService);
      const details = await api.getGuestDetails({ memBlockSize: true, memHotplugProbe: true });
      assert.ok(details.agentDetails, 'agent_details present');
      assert.equal(details.agentDetails.version, v.agentVersion);
      // Every RPC without a handler answers NOT_FOUND with upstream's message.
      await assert.rejects(api.addSwap({}), (e: unknown) => isTtrpcError(e) && e.code === Code.NOT_FOUND && e.message === '/grpc.AgentService/AddSwap is not supported');
      await assert.rejects(api.setPolicy({ policy: '' }), (e: unknown) => isTtrpcError(e) && e.code === Code.NOT_FOUND && /SetPolicy is not supported/.test(e.message));
    });
    const [code] = await stop(agent.child, 'SIGTERM');
    assert.equal(code, 0, agent.output());
    assert.equal(existsSync(sock), false, 'socket file removed');
  } finally {
    await stop(agent.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('address from KATA_AGENT_SERVER_ADDR (abstract socket) and log level from the kernel command line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-'));
  const name = `kata-ts-test-${process.pid}-${Date.now()}`;
  const cmdline = join(dir, 'cmdline');
  writeFileSync(cmdline, 'console=ttyS0 agent.log=debug agent.server_addr=unix:///nonexistent/ignored.sock\n');
  const agent = start(AGENT, ['--kernel-cmdline', cmdline, '--state-dir', join(dir, 'state')], { ...process.env, KATA_AGENT_SERVER_ADDR: `unix://@${name}` });
  try {
    await withClient(`unix://@${name}`, async (c) => {
      assert.equal((await createClient(c, Health).check({})).status, HealthCheckResponse_ServingStatus.SERVING);
    });
    // debug level came from agent.log=debug: the configuration is logged at debug.
    assert.match(agent.output(), /"msg":"configuration"/);
    assert.equal((await stop(agent.child))[0], 0);
  } finally {
    await stop(agent.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad configuration: clear message, non-zero exit', async () => {
  const r1 = await run(AGENT, ['--server-addr', 'tcp://1.2.3.4:5', '--no-kernel-cmdline']);
  assert.notEqual(r1.code, 0);
  assert.match(r1.stderr, /tcp:\/\/1\.2\.3\.4:5/);
  const r2 = await run(AGENT, ['--hotplug-timeout', 'later', '--no-kernel-cmdline']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--hotplug-timeout: invalid duration "later"/);
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-'));
  const r3 = await run(AGENT, ['--server-addr', 'unix:///nonexistent-dir/x/agent.sock', '--state-dir', join(dir, 'state'), '--no-kernel-cmdline']);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /cannot listen/);
});
