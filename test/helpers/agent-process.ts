// Runs a real kata-ts-agent process in host mode for RPC tests: its own
// state directory and socket in a temporary directory, and a connected client.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, connect, createClient, type ServiceClient } from '../../src/ttrpc/index.js';
import { AgentService } from '../../src/protocols/gen/agent_pb.js';
import { binPath, start, stop, waitForPath } from './processes.js';

export interface AgentUnderTest {
  dir: string;
  stateDir: string;
  socket: string;
  child: ChildProcess;
  client: Client;
  api: ServiceClient<typeof AgentService>;
  output(): string;
  /**
   * SIGTERM, wait for exit; returns the exit code. Removes the temporary
   * directory unless `keepDir` (then the caller inspects and removes `dir`).
   */
  shutdown(keepDir?: boolean): Promise<number | null>;
}

export async function startAgentProcess(extraArgs: string[] = []): Promise<AgentUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-rpc-'));
  const stateDir = join(dir, 'state');
  const socket = join(dir, 'agent.sock');
  const proc = start(binPath('kata-ts-agent'), [
    '--server-addr', `unix://${socket}`,
    '--state-dir', stateDir,
    '--no-kernel-cmdline',
    '--log-level', 'debug',
    ...extraArgs,
  ]);
  try {
    await waitForPath(socket, 20_000);
  } catch (err) {
    await stop(proc.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`agent did not start: ${proc.output()}`, { cause: err });
  }
  const client = new Client(await connect(`unix://${socket}`, { timeoutMs: 10_000 }));
  let done = false;
  return {
    dir,
    stateDir,
    socket,
    child: proc.child,
    client,
    api: createClient(client, AgentService),
    output: proc.output,
    async shutdown(keepDir = false) {
      if (!done) {
        done = true;
        await client.close();
        await stop(proc.child, 'SIGTERM');
      }
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
      return proc.child.exitCode;
    },
  };
}

/** Entries left in a directory (recursively listed names), for leftover checks. */
export function listTree(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
}
