// A hot-plugged block device end to end, with REAL loop devices standing
// for the guest's disks. The spec names each container device with the
// HOST's major:minor, which the guest agent must replace by the guest's
// (CreateContainerRequest.devices: an "mmioblk" device whose vm_path is the
// guest node). Here the host numbers are made to collide with the guest
// numbers of the OTHER device, crosswise:
//
//   /dev/xvda  host numbers = loop B's real ones  -> guest: loop A
//   /dev/xvdb  host numbers = loop A's real ones  -> guest: loop B
//
// and linux.resources.devices has deny-all, rwm for xvda and read-only for
// xvdb (by host numbers). A remapper that rewrote entries one after the
// other would turn the first rewrite's output into the second's input and
// give xvda's access to xvdb, or lose a rule. Inside the container each node
// must carry its guest numbers, read its own loop file's marker, and keep
// its own access: xvda writable, xvdb read-only (EPERM on write). A char
// device with xvdb's host numbers (and a rule for it) must not move at all;
// the container's own devices.list (cgroup mounted inside) shows all three.
//
// The spec carries the annotation our runtime sends (wildcards are -1 on the
// wire), so a rule for a loop device with minor 0 keeps its minor.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { splitDevT } from '../../../src/oci/devices/dev-t.js';
import { DEVICE_RULE_WILDCARD_ANNOTATION } from '../../../src/oci/annotations.js';
import type { Spec } from '../../../src/oci/spec.js';
import type { RuntimeKind } from '../../../src/agent/container/oci-runtime.js';
import { containerTestsSkipReason } from '../../helpers/container-env.js';
import { ContainerAgent, newId } from '../../helpers/agent-harness.js';

const run = promisify(execFile);

function skipReason(kind: RuntimeKind): string | undefined {
  return containerTestsSkipReason(kind) ?? (existsSync('/dev/loop-control') ? undefined : 'needs loop devices (/dev/loop-control)');
}

interface LoopDisk {
  file: string;
  device: string;
  major: number;
  minor: number;
  marker: string;
}

/** A 1 MiB file starting with `marker`, attached to a free loop device. */
async function attachLoop(dir: string, name: string): Promise<LoopDisk> {
  const file = join(dir, `${name}.img`);
  const marker = `KATA-TS-MARKER-${name}-${randomBytes(4).toString('hex')}`;
  const fh = await open(file, 'w');
  try {
    await fh.truncate(1024 * 1024);
    await fh.write(marker, 0);
  } finally {
    await fh.close();
  }
  const { stdout } = await run('losetup', ['--find', '--show', file]);
  const device = stdout.trim();
  const { major, minor } = splitDevT((await stat(device, { bigint: true })).rdev);
  return { file, device, major, minor, marker };
}

async function detachLoop(d: LoopDisk): Promise<void> {
  await run('losetup', ['--detach', d.device]);
}

const hex = (n: number) => n.toString(16);

for (const kind of ['runc', 'crun'] as RuntimeKind[]) {
  describe(`hot-plugged block devices through real loop devices (${kind})`, { skip: skipReason(kind), timeout: 120_000 }, () => {
    let h: ContainerAgent;
    let dir: string;
    let a: LoopDisk | undefined;
    let b: LoopDisk | undefined;

    before(async () => {
      h = await ContainerAgent.start(kind);
      dir = await mkdtemp(join(tmpdir(), 'kata-ts-loop-'));
      a = await attachLoop(dir, 'A');
      b = await attachLoop(dir, 'B');
    });
    after(async () => {
      try {
        await h.shutdown();
      } finally {
        for (const d of [a, b]) if (d) await detachLoop(d);
        const { stdout } = await run('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE']);
        await rm(dir, { recursive: true, force: true });
        assert.ok(!stdout.includes(dir), `loop devices detached: ${stdout}`);
      }
    });
    afterEach(async () => {
      await h.assertNothingLeft();
    });

    test('crosswise colliding host numbers: each node gets its guest numbers, its own data and its own access', async () => {
      const A = a!;
      const B = b!;
      assert.notEqual(`${A.major}:${A.minor}`, `${B.major}:${B.minor}`);
      const id = newId('blk');
      const script = [
        `stat -c '%n %t:%T %F' /dev/xvda /dev/xvdb`,
        'head -c 40 /dev/xvda; echo',
        'head -c 40 /dev/xvdb; echo',
        'printf WRITTEN-THROUGH-XVDA | dd of=/dev/xvda bs=512 seek=1 2>/dev/null && sync && echo write-xvda-ok',
        'if printf X | dd of=/dev/xvdb bs=512 seek=1; then echo write-xvdb-ok; else echo write-xvdb-refused; fi',
        `stat -c '%n %t:%T %F' /dev/xchar`,
        // The container's own view of its device cgroup.
        'echo RULES; cat /sys/fs/cgroup/devices/devices.list',
      ].join('; ');
      const base = h.spec(id, ['sh', '-c', script]);
      const node = { type: 'b', fileMode: 0o660, uid: 0, gid: 0 } as const;
      const spec: Spec = {
        ...base,
        mounts: [...(base.mounts ?? []), { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] }],
        annotations: { [DEVICE_RULE_WILDCARD_ANNOTATION]: '-1' },
        linux: {
          ...base.linux,
          // Host numbers, crosswise equal to the other disk's guest numbers.
          devices: [
            { ...node, path: '/dev/xvda', major: B.major, minor: B.minor },
            { ...node, path: '/dev/xvdb', major: A.major, minor: A.minor },
            // A char device with the same numbers as xvdb's host numbers: not updated, and its
            // rule must not move with the block device's.
            { ...node, type: 'c', path: '/dev/xchar', major: A.major, minor: A.minor },
          ],
          resources: {
            devices: [
              { allow: false, access: 'rwm' },
              { allow: true, type: 'b', major: B.major, minor: B.minor, access: 'rwm' }, // xvda
              { allow: true, type: 'b', major: A.major, minor: A.minor, access: 'r' }, // xvdb, read-only
              { allow: true, type: 'c', major: A.major, minor: A.minor, access: 'm' }, // xchar
            ],
          },
        },
      };
      await h.create(id, spec, [
        { type: 'mmioblk', vmPath: A.device, containerPath: '/dev/xvda' },
        { type: 'mmioblk', vmPath: B.device, containerPath: '/dev/xvdb' },
      ]);

      // The device cgroup, set up at create, allows the GUEST numbers with each device's own access.
      const rules = (await readFile(join(h.cgroupDir('devices', id), 'devices.list'), 'utf8')).split('\n');
      assert.ok(rules.includes(`b ${A.major}:${A.minor} rwm`), `xvda (guest ${A.major}:${A.minor}) rwm in ${rules.join(', ')}`);
      assert.ok(rules.includes(`b ${B.major}:${B.minor} r`), `xvdb (guest ${B.major}:${B.minor}) read-only in ${rules.join(', ')}`);
      assert.ok(!rules.includes(`b ${B.major}:${B.minor} rwm`), 'xvdb did not inherit xvda\'s access');

      await h.api.startContainer({ containerId: id });
      const r = await h.collect(id);
      await h.api.removeContainer({ containerId: id });

      assert.equal(r.status, 0, r.stderr);
      const [out, inside] = r.stdout.split('RULES\n') as [string, string];
      // Seen from inside the container: guest numbers for the block devices, the char rule where it was.
      const insideRules = inside.split('\n');
      assert.ok(insideRules.includes(`b ${A.major}:${A.minor} rwm`), `inside: ${inside}`);
      assert.ok(insideRules.includes(`b ${B.major}:${B.minor} r`), `inside: ${inside}`);
      assert.ok(insideRules.includes(`c ${A.major}:${A.minor} m`), `inside: char rule untouched: ${inside}`);
      assert.deepEqual(out.split('\n'), [
        `/dev/xvda ${hex(A.major)}:${hex(A.minor)} block special file`,
        `/dev/xvdb ${hex(B.major)}:${hex(B.minor)} block special file`,
        A.marker + '\0'.repeat(40 - A.marker.length),
        B.marker + '\0'.repeat(40 - B.marker.length),
        'write-xvda-ok',
        'write-xvdb-refused',
        `/dev/xchar ${hex(A.major)}:${hex(A.minor)} character special file`,
        '',
      ]);
      assert.match(r.stderr, /xvdb.*Operation not permitted/, 'EPERM from the device cgroup');
      // The write through xvda reached loop A's file, and only that one.
      const fileA = await readFile(A.file);
      const fileB = await readFile(B.file);
      assert.equal(fileA.subarray(512, 512 + 20).toString(), 'WRITTEN-THROUGH-XVDA');
      assert.ok(fileB.subarray(512, 1024).every((x) => x === 0), 'loop B untouched');
    });
  });
}
