// The build VM's /init for the agent's startup snapshot: valid shell that
// builds the snapshot in the agent's directory with the guest's node, copies
// it out before writing node's status, and powers off. (The VM itself runs
// when the default image is built: boot.test.ts checks the result.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderSnapshotInit } from '../../src/image/startup-snapshot.js';

describe('startup snapshot build VM', () => {
  const script = renderSnapshotInit();

  test('busybox sh accepts its /init', () => {
    const res = spawnSync('busybox', ['sh', '-n'], { input: script, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(script.startsWith('#!/bin/sh\n'));
    assert.ok(script.trimEnd().endsWith('poweroff -f'));
  });

  test('loads every module list, builds in /opt/kata-ts with the guest node, copies the snapshot out, then the status', () => {
    assert.match(script, /for list in \/etc\/kata-ts\/modules\.load \/etc\/kata-ts\/modules-late\.load; do/);
    assert.match(script, /mount -t 9p -o trans=virtio,version=9p2000\.L kataTsSnapshot \/mnt\/snapshot/);
    assert.match(script, /cd \/opt\/kata-ts && \/usr\/bin\/node --snapshot-blob \/tmp\/agent\.blob --build-snapshot \/opt\/kata-ts\/agent\.cjs > \/mnt\/snapshot\/build\.log 2>&1/);
    const copy = script.indexOf('cp /tmp/agent.blob /mnt/snapshot/agent.blob');
    const status = script.indexOf('echo "$status" > /mnt/snapshot/status');
    assert.ok(copy > 0 && status > copy, 'the status is written after the copy');
    assert.match(script, /if \[ "\$status" -eq 0 \] && ! cp \/tmp\/agent\.blob \/mnt\/snapshot\/agent\.blob; then\n.*\n\s+status=1/);
  });
});
