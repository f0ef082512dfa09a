// The generated /init: valid shell, the agent command and module list it was given.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderInit, shellQuote } from '../../src/image/init-script.js';

describe('/init', () => {
  const script = renderInit({
    moduleList: '/etc/kata-ts/modules.load',
    lateModuleList: '/etc/kata-ts/modules-late.load',
    agentCommand: ['/usr/bin/node', '/opt/kata-ts/agent.mjs', '--log-level', "it's"],
    ociRuntime: '/usr/bin/crun',
  });

  test('busybox sh accepts it', () => {
    const res = spawnSync('busybox', ['sh', '-n'], { input: script, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(script.startsWith('#!/bin/sh\n'));
  });

  test('loads the module list, waits for the serial port, runs the agent, powers off after it', () => {
    assert.match(script, /^load_modules \/etc\/kata-ts\/modules\.load$/m);
    assert.match(script, /done < "\$1"$/m);
    // The late list is the agent's to load, once it listens.
    assert.match(script, /^export KATA_TS_LATE_MODULES=\/etc\/kata-ts\/modules-late\.load$/m);
    assert.doesNotMatch(script, /load_modules \/etc\/kata-ts\/modules-late\.load/);
    assert.match(script, /mount -t cgroup2 .* \/sys\/fs\/cgroup/);
    assert.match(script, /\/sys\/class\/virtio-ports\/vport\*/);
    assert.match(script, /^set -- \/usr\/bin\/node \/opt\/kata-ts\/agent\.mjs --log-level 'it'\\''s'$/m);
    assert.match(script, /--oci-runtime \/usr\/bin\/crun/);
    assert.match(script, /agent\.debug_console/);
    assert.ok(script.trimEnd().endsWith('poweroff -f'));
  });

  test('without a late module list, the agent is not told of one', () => {
    const plain = renderInit({ moduleList: '/m', agentCommand: ['/a'], ociRuntime: 'crun' });
    assert.doesNotMatch(plain, /KATA_TS_LATE_MODULES/);
    assert.equal(spawnSync('busybox', ['sh', '-n'], { input: plain }).status, 0);
  });

  test('shellQuote leaves plain words alone and quotes the rest', () => {
    assert.equal(shellQuote('/usr/bin/node'), '/usr/bin/node');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
  });
});
