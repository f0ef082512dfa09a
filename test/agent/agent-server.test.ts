// startAgent with late kernel modules: Health answers while the modules load,
// AgentService RPCs wait until the load has ended. The module list is a FIFO,
// so the loader's shell blocks reading it until the test closes its end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { startAgent } from '../../src/agent/agent-server.js';
import { resolveConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/common/logger.js';
import { Client, connect, createClient } from '../../src/ttrpc/index.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../src/protocols/gen/health_pb.js';
import { AgentService } from '../../src/protocols/gen/agent_pb.js';

test('AgentService RPCs wait for the late kernel modules; Health does not', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-late-'));
  const fifo = join(dir, 'modules.load');
  execFileSync('mkfifo', [fifo]);
  const socket = join(dir, 'agent.sock');
  const config = resolveConfig({ flags: { serverAddr: `unix://${socket}`, stateDir: join(dir, 'state'), ociRuntime: 'runc' }, env: {}, kernelCmdline: undefined });
  const agent = await startAgent(config, silentLogger, { netlinkUevents: false, lateModules: fifo });
  const client = new Client(await connect(`unix://${socket}`, { timeoutMs: 10_000 }));
  let writer: number | undefined;
  try {
    let answered = false;
    const details = createClient(client, AgentService)
      .getGuestDetails({})
      .then((reply) => {
        answered = true;
        return reply;
      });
    const health = await createClient(client, Health).check({});
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
    // Let the agent handle the GetGuestDetails request it has already received.
    await createClient(client, Health).check({});
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(answered, false, 'GetGuestDetails waits while the module list is still being read');

    writer = openSync(fifo, 'w'); // the loader's shell now has its list: empty
    closeSync(writer);
    writer = undefined;
    const reply = await details;
    assert.ok(reply.agentDetails?.version, 'answered once the load ended');
  } finally {
    if (writer !== undefined) closeSync(writer);
    // A loader still blocked on the FIFO (the test failed early) gets its EOF.
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader left
    }
    await client.close();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
