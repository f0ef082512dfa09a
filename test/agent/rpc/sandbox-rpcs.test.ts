// Sandbox RPCs through a real agent process in host mode: storages on real
// mounts with reference counts across two containers, the sandbox pid
// namespace, DNS, guest details, and nothing mounted after DestroySandbox.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Code, isTtrpcError } from '../../../src/ttrpc/index.js';
import { specToProto, processToProto } from '../../../src/oci/convert.js';
import { createBusyboxRootfs, busyboxSpec, busyboxProcess } from '../../helpers/busybox-rootfs.js';
import { containerTestsSkipReason, removeTestCgroup } from '../../helpers/container-env.js';
import { startAgentProcess } from '../../helpers/agent-process.js';

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir));
}

describe('sandbox RPCs (runc, host mode)', { skip: containerTestsSkipReason('runc') }, () => {
  test('CreateSandbox storages, shared by two containers, all unmounted by DestroySandbox', async () => {
    const rootfs = await createBusyboxRootfs();
    const agent = await startAgentProcess(['--oci-runtime', 'runc']);
    try {
      const state = agent.stateDir;
      const shm = join(state, 'sandbox', 'shm');
      const shared = join(state, 'shared', 'vol');
      await agent.api.createSandbox({
        sandboxId: 'sb1',
        hostname: 'kata-sb1',
        dns: ['nameserver 10.0.0.53', 'search example.test'],
        sandboxPidns: true,
        storages: [{ driver: 'ephemeral', source: 'shm', fstype: 'tmpfs', mountPoint: shm, options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=1048576'] }],
      });
      assert.ok(mountsUnder(shm).length === 1, 'shm mounted');
      assert.equal(readFileSync(join(state, 'sandbox', 'resolv.conf'), 'utf8'), 'nameserver 10.0.0.53\nsearch example.test\n');
      await assert.rejects(agent.api.createSandbox({ sandboxId: 'again' }), (e: unknown) => isTtrpcError(e) && e.code === Code.ALREADY_EXISTS);

      // Two containers share one ephemeral volume: mounted once, kept until the last goes.
      const vol = { driver: 'ephemeral', source: 'tmpfs', fstype: 'tmpfs', mountPoint: shared, options: ['size=1m'] };
      const mk = (id: string) => specToProto(busyboxSpec({ rootfs: rootfs.rootfs, args: ['sleep', '1000'], cgroupsPath: `/kata-ts-test-sb-${process.pid}/${id}` }));
      await agent.api.createContainer({ containerId: 'c1', execId: 'c1', OCI: mk('c1'), storages: [vol], sandboxPidns: true });
      await agent.api.createContainer({ containerId: 'c2', execId: 'c2', OCI: mk('c2'), storages: [vol], sandboxPidns: true });
      assert.equal(mountsUnder(shared).length, 1, 'one mount for two users');
      await agent.api.startContainer({ containerId: 'c1' });
      await agent.api.startContainer({ containerId: 'c2' });
      await agent.api.removeContainer({ containerId: 'c1' });
      assert.equal(mountsUnder(shared).length, 1, 'still mounted for c2');

      // c2 is in the sandbox pid namespace: pid 1 there is the sandbox's pause process, not c2's sleep.
      await agent.api.execProcess({ containerId: 'c2', execId: 'ps', process: processToProto(busyboxProcess({ args: ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline'] })) });
      let out = '';
      for (;;) {
        try {
          out += Buffer.from((await agent.api.readStdout({ containerId: 'c2', execId: 'ps', len: 4096 })).data).toString();
        } catch {
          break;
        }
      }
      assert.match(out, /^sleep infinity/, 'pid 1 of the shared namespace is the pause process');
      await agent.api.destroySandbox({});
      assert.deepEqual(mountsUnder(state), [], 'nothing mounted after DestroySandbox');
      await assert.rejects(agent.api.startContainer({ containerId: 'c2' }), (e: unknown) => isTtrpcError(e) && e.code === Code.NOT_FOUND);
      // A new sandbox can be created after the old one was destroyed.
      await agent.api.createSandbox({ sandboxId: 'sb2' });
    } finally {
      assert.equal(await agent.shutdown(), 0, agent.output());
      await rootfs.cleanup();
      await removeTestCgroup(`/kata-ts-test-sb-${process.pid}`);
    }
  });

  test('bad CreateSandbox input is rejected before anything changes', async () => {
    const agent = await startAgentProcess(['--oci-runtime', 'runc']);
    try {
      const cases: Array<[Parameters<typeof agent.api.createSandbox>[0], RegExp]> = [
        [{ hostname: 'bad host name!' }, /hostname/],
        [{ dns: ['rm -rf /'] }, /dns\[0\]/],
        [{ kernelModules: [{ name: 'evil;rm', parameters: [] }] }, /kernel_modules\[0\]/],
        [{ guestHookPath: 'relative/hooks' }, /guest_hook_path/],
        [{ storages: [{ driver: 'nope', mountPoint: join(agent.stateDir, 'x') }] }, /storages\[0\]\.driver/],
        [{ storages: [{ driver: 'local', mountPoint: '/etc/escape' }] }, /mount_point/],
      ];
      for (const [req, re] of cases) {
        await assert.rejects(agent.api.createSandbox(req), (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && re.test(e.message), JSON.stringify(req));
      }
      assert.equal(existsSync('/etc/escape'), false);
      assert.deepEqual(mountsUnder(agent.stateDir), []);
      // The host clock is never touched in host mode.
      await assert.rejects(agent.api.setGuestDateTime({ Sec: 1n, Usec: 0n }), (e: unknown) => isTtrpcError(e) && e.code === Code.FAILED_PRECONDITION);
      // CopyFile lands under the state directory only.
      const data = Buffer.from('hello');
      mkdirSync(agent.stateDir, { recursive: true });
      await agent.api.copyFile({ path: join(agent.stateDir, 'shared', 'f.txt'), fileSize: BigInt(data.length), fileMode: 0o100644, dirMode: 0o755, uid: -1, gid: -1, offset: 0n, data });
      assert.equal(readFileSync(join(agent.stateDir, 'shared', 'f.txt'), 'utf8'), 'hello');
      await assert.rejects(agent.api.copyFile({ path: '/etc/kata-ts-evil', fileSize: 1n, fileMode: 0o100644, data: Buffer.from('x') }), (e: unknown) => isTtrpcError(e) && e.code === Code.INVALID_ARGUMENT && /copy_file\.path/.test(e.message));
      assert.equal(existsSync('/etc/kata-ts-evil'), false);
    } finally {
      assert.equal(await agent.shutdown(), 0, agent.output());
    }
  });
});
