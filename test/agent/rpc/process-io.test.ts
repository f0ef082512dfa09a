// Process I/O through the agent under load: many containers at once on one
// connection, a 1 MiB stdin -> cat -> stdout round trip drained by a slow
// reader (the agent's output buffers are bounded: a reader that does not
// read stops the process, and so the writer), and stdout/stderr kept apart
// and exact for a process that writes both interleaved.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, newId } from '../../helpers/agent-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`process I/O through the agent (${kind})`, { skip: containerTestsSkipReason(kind), timeout: 120_000 }, () => {
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

    test('20 containers created, started, waited and removed in parallel on one connection', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `par${i}-${randomBytes(3).toString('hex')}`);
      const results = await Promise.all(
        ids.map((id, i) => h.run(id, h.spec(id, ['sh', '-c', `echo "out $0"; echo "err $0" >&2; exit ${i + 1}`, id]))),
      );
      results.forEach((r, i) => {
        assert.deepEqual(r, { stdout: `out ${ids[i]}\n`, stderr: `err ${ids[i]}\n`, status: i + 1 }, `container ${i}`);
      });
    });

    test('1 MiB of random stdin comes back byte-exact through cat to a slow reader; buffering is bounded', async () => {
      const id = newId('cat');
      await h.createAndStart(id, h.spec(id, ['cat']));
      const payload = randomBytes(MiB);

      // Writer: 16 KiB per WriteStdin, each awaited (the agent answers once
      // the bytes are in the pipe), then CloseStdin.
      let accepted = 0;
      const writing = (async () => {
        for (let off = 0; off < payload.length; off += 16 * KiB) {
          const w = await h.api.writeStdin({ containerId: id, execId: id, data: payload.subarray(off, off + 16 * KiB) });
          assert.equal(w.len, Math.min(16 * KiB, payload.length - off));
          accepted += w.len;
        }
        await h.api.closeStdin({ containerId: id, execId: id });
      })();

      // Nobody reads yet: the pipes and the agent's bounded buffer fill up,
      // cat blocks, and so does stdin. Wait until no more bytes are taken.
      writing.catch(() => undefined); // awaited below
      let last = -1;
      for (let polls = 0; accepted === 0 || accepted !== last; polls++) {
        assert.ok(polls < 80, 'the writer made progress and then stopped');
        last = accepted;
        await sleep(250);
      }
      assert.ok(accepted <= 512 * KiB, `without a reader the agent stops taking input (took ${accepted} of ${payload.length} bytes)`);

      // A slow reader: small random lengths, a pause every few reads.
      const chunks: Buffer[] = [];
      let reads = 0;
      for (;;) {
        const len = randomInt(1, 8 * KiB);
        let data: Uint8Array;
        try {
          data = (await h.api.readStdout({ containerId: id, execId: id, len })).data;
        } catch {
          break; // OUT_OF_RANGE: end of stream (checked by the comparison below)
        }
        assert.ok(data.length >= 1 && data.length <= len, `read of ${len} returned ${data.length} bytes`);
        chunks.push(Buffer.from(data));
        if (++reads % 32 === 0) await sleep(5);
      }
      await writing;
      const echoed = Buffer.concat(chunks);
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload), 'byte-exact');
      assert.equal((await h.api.waitProcess({ containerId: id, execId: id })).status, 0);
      await h.api.removeContainer({ containerId: id });
    });

    test('stdout and stderr of a process writing both interleaved are each exact', async () => {
      const id = newId('inter');
      // 20000 lines on each stream (~190 KiB each): more than a pipe and the
      // agent's buffer hold, so both must be drained concurrently.
      const script = 'i=1; while [ $i -le 20000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; exit 9';
      await h.createAndStart(id, h.spec(id, ['sh', '-c', script]));
      const r = await h.collect(id);
      const lines = (tag: string) => Array.from({ length: 20000 }, (_, i) => `${tag} ${i + 1}\n`).join('');
      assert.equal(r.status, 9);
      assert.ok(r.stdout === lines('out'), `stdout exact (${r.stdout.length} bytes)`);
      assert.ok(r.stderr === lines('err'), `stderr exact (${r.stderr.length} bytes)`);
      await h.api.removeContainer({ containerId: id });
    });
  });
}
