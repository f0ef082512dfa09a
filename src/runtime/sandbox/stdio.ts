// Relaying a container process's stdio over the agent API, as Kata's shim
// does: ReadStdout/ReadStderr in a loop until the agent answers OUT_OF_RANGE
// (end of stream), and WriteStdin with whatever our input gives, then
// CloseStdin at its end.
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { Code, isTtrpcError } from '../../ttrpc/index.js';
import type { AgentClient } from '../qemu/vm.js';

/** Bytes asked for per read, as Kata's shim. */
export const READ_CHUNK = 32 * 1024;

export interface ProcessRef {
  containerId: string;
  execId: string;
}

async function writeAll(out: Writable, data: Uint8Array): Promise<void> {
  if (!out.write(data)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
}

/**
 * Copies one output stream of the process to `out` until its end. Resolves at
 * end of stream; rejects on any other error (e.g. the VM went away).
 */
export async function relayOutput(agent: AgentClient, proc: ProcessRef, stream: 'stdout' | 'stderr', out: Writable): Promise<void> {
  const read = stream === 'stdout' ? agent.readStdout : agent.readStderr;
  for (;;) {
    let data: Uint8Array;
    try {
      ({ data } = await read({ containerId: proc.containerId, execId: proc.execId, len: READ_CHUNK }));
    } catch (err) {
      if (isTtrpcError(err) && err.code === Code.OUT_OF_RANGE) return;
      throw err;
    }
    // An empty answer is also end of stream (current Kata agents send that).
    if (data.length === 0) return;
    await writeAll(out, data);
  }
}

export interface InputRelay {
  /** Settles once the input is fully written and stdin closed, or the relay was stopped. */
  done: Promise<void>;
  /** Stops reading `input` (the process has exited; nobody needs more). */
  stop(): void;
}

/** Feeds `input` to the process's stdin, then closes it. */
export function relayInput(agent: AgentClient, proc: ProcessRef, input: Readable): InputRelay {
  let stopped = false;
  const stopController = new AbortController();
  const done = (async () => {
    try {
      for await (const chunk of input.iterator({ destroyOnReturn: false })) {
        if (stopped) return;
        let data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        while (data.length > 0) {
          const { len } = await agent.writeStdin(
            { containerId: proc.containerId, execId: proc.execId, data },
            { signal: stopController.signal },
          );
          if (len <= 0) throw new Error('WriteStdin accepted nothing');
          data = data.subarray(len);
        }
      }
      if (!stopped) await agent.closeStdin({ containerId: proc.containerId, execId: proc.execId }, { signal: stopController.signal });
    } catch (err) {
      if (!stopped) throw err;
    }
  })();
  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      stopController.abort();
      input.pause();
      // A stream that only waits for more input would keep the process alive.
      input.destroy();
    },
  };
}
