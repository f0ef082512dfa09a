// Terminals through the agent: a container whose process has a pty
// (process.terminal) and a terminal exec. TtyWinResize must change what the
// process sees: `stty size` prints the new rows and columns exactly.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../../src/ttrpc/index.js';
import { processToProto } from '../../../src/oci/convert.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { busyboxProcess } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, hasCode, newId } from '../../helpers/agent-harness.js';

// Turns echo off, says "ready", then prints the window size after each line
// of input; last, whether stdin and stdout are terminals.
const SIZE_SCRIPT = 'stty -echo; echo ready; read a; stty size; read a; stty size; [ -t 0 ] && [ -t 1 ] && echo tty; exit 4';

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`terminals through the agent (${kind})`, { skip: containerTestsSkipReason(kind), timeout: 120_000 }, () => {
    let h: ContainerAgent;
    before(async () => {
      h = await ContainerAgent.start(kind);
    });
    after(async () => {
      await h.shutdown();
    });
    afterEach(async () => {
      await h.assertNothingLeft();
    });

    /** Reads stdout until `text` has been seen; returns everything read. */
    async function readUntil(id: string, execId: string, text: string, sofar = ''): Promise<string> {
      let out = sofar;
      while (!out.includes(text)) {
        const r = await h.api.readStdout({ containerId: id, execId, len: 1024 });
        out += Buffer.from(r.data).toString();
      }
      return out;
    }

    /** Drives SIZE_SCRIPT: two resizes, each followed by a line of input; returns the whole output. */
    async function resizeTwice(id: string, execId: string): Promise<string> {
      let out = await readUntil(id, execId, 'ready\r\n');
      await h.api.ttyWinResize({ containerId: id, execId, row: 24, column: 80 });
      await h.api.writeStdin({ containerId: id, execId, data: Buffer.from('\n') });
      out = await readUntil(id, execId, '24 80\r\n', out);
      await h.api.ttyWinResize({ containerId: id, execId, row: 33, column: 101 });
      await h.api.writeStdin({ containerId: id, execId, data: Buffer.from('\n') });
      return out + (await h.readAll(id, execId, 'stdout', 1024)).toString();
    }

    test('a terminal container sees each TtyWinResize in `stty size`', async () => {
      const id = newId('tty');
      await h.createAndStart(id, h.spec(id, ['sh', '-c', SIZE_SCRIPT], { terminal: true }));
      const waiting = h.api.waitProcess({ containerId: id, execId: id });
      const out = await resizeTwice(id, id);
      assert.equal(out, 'ready\r\n24 80\r\n33 101\r\ntty\r\n');
      assert.equal((await waiting).status, 4);
      // A pty has one output stream: stderr is at its end from the start.
      await assert.rejects(h.api.readStderr({ containerId: id, execId: id, len: 10 }), hasCode(Code.OUT_OF_RANGE));
      await h.api.removeContainer({ containerId: id });
    });

    test('a terminal exec in a running container; resize of a process without a terminal is refused', async () => {
      const id = newId('ttyexec');
      await h.createAndStart(id, h.spec(id, ['sleep', '1000']));
      await assert.rejects(h.api.ttyWinResize({ containerId: id, execId: id, row: 10, column: 10 }), hasCode(Code.FAILED_PRECONDITION, /terminal/));
      await assert.rejects(h.api.ttyWinResize({ containerId: id, execId: 'nope', row: 10, column: 10 }), hasCode(Code.NOT_FOUND));

      const execId = 'term';
      await h.api.execProcess({ containerId: id, execId, process: processToProto(busyboxProcess({ args: ['sh', '-c', SIZE_SCRIPT], terminal: true })) });
      const waiting = h.api.waitProcess({ containerId: id, execId });
      const out = await resizeTwice(id, execId);
      assert.equal(out, 'ready\r\n24 80\r\n33 101\r\ntty\r\n');
      assert.equal((await waiting).status, 4);

      // The container's own process was not disturbed by the exec.
      const pids = JSON.parse(Buffer.from((await h.api.listProcesses({ containerId: id, format: 'json' })).processList).toString()) as number[];
      assert.equal(pids.length, 1);
      await h.api.removeContainer({ containerId: id });
    });
  });
}
