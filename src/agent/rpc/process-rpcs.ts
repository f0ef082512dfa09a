// Process RPCs: exec, signal, wait, and the process I/O calls.
import { Code, TtrpcError } from '../../ttrpc/index.js';
import { processFromProto } from '../../oci/convert.js';
import { parseProcess } from '../../oci/spec.js';
import { validateContainerId } from '../container/validate.js';
import type { Container } from '../container/container.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { AgentServiceImpl } from './agent-service.js';
import { invalidArgument, translated } from './errors.js';

/** After WaitProcess, an exec'd process stays this long so its output can be drained; then it is forgotten. */
const EXEC_FORGET_DELAY_MS = 30_000;

/** Largest ReadStdout/ReadStderr answer; protects the 4 MiB frame limit. */
const MAX_READ_LEN = 1 << 20;

/** End of stream is an error status: the 2020 runtime stops on any error, the current one too (see README). */
function endOfStream(stream: string): TtrpcError {
  return new TtrpcError(Code.OUT_OF_RANGE, `${stream}: EOF`);
}

function forgetLater(c: Container, execId: string): void {
  const timer = setTimeout(() => {
    try {
      c.deleteExec(execId);
    } catch {
      // already removed with its container
    }
  }, EXEC_FORGET_DELAY_MS);
  timer.unref();
}

export function processRpcs(sandbox: Sandbox): AgentServiceImpl {
  const lookupProcess = (cid: string, execId: string) => {
    validateContainerId(cid);
    return sandbox.container(cid).getProcess(execId);
  };

  const read = async (cid: string, execId: string, len: number, which: 'stdout' | 'stderr') => {
    if (len <= 0) throw invalidArgument('len', 'must be greater than 0');
    const p = lookupProcess(cid, execId);
    const n = Math.min(len, MAX_READ_LEN);
    const data = which === 'stdout' ? await p.stdio.readStdout(n) : await p.stdio.readStderr(n);
    if (data === null) throw endOfStream(which);
    return { data };
  };

  return {
    execProcess: (req) =>
      translated(async () => {
        validateContainerId(req.containerId);
        if (!req.process) throw invalidArgument('process', 'missing');
        if (req.stdinPort !== 0 || req.stdoutPort !== 0 || req.stderrPort !== 0) {
          throw new TtrpcError(Code.UNIMPLEMENTED, 'stdin_port/stdout_port/stderr_port: not supported by this agent');
        }
        const spec = parseProcess(processFromProto(req.process));
        await sandbox.container(req.containerId).exec(req.execId, spec);
        return {};
      }),

    signalProcess: (req) =>
      translated(async () => {
        validateContainerId(req.containerId);
        const c = sandbox.container(req.containerId);
        // An empty exec id means every process of the container.
        await c.signal(req.execId === '' ? undefined : req.execId, req.signal);
        return {};
      }),

    waitProcess: (req) =>
      translated(async () => {
        validateContainerId(req.containerId);
        const c = sandbox.container(req.containerId);
        const p = c.getProcess(req.execId);
        const status = await c.wait(req.execId);
        if (p !== c.init) forgetLater(c, p.execId);
        return { status: status.status };
      }),

    readStdout: (req) => translated(() => read(req.containerId, req.execId, req.len, 'stdout')),
    readStderr: (req) => translated(() => read(req.containerId, req.execId, req.len, 'stderr')),

    writeStdin: (req) =>
      translated(async () => {
        const n = await lookupProcess(req.containerId, req.execId).stdio.writeStdin(req.data);
        return { len: n };
      }),

    closeStdin: (req) =>
      translated(async () => {
        await lookupProcess(req.containerId, req.execId).stdio.closeStdin();
        return {};
      }),

    ttyWinResize: (req) =>
      translated(() => {
        lookupProcess(req.containerId, req.execId).stdio.resize(req.row, req.column);
        return {};
      }),
  };
}
