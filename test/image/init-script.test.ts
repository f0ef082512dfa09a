// The generated /init: valid shell, the agent command and module list it was given.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderInit, shellQuote } from '../../src/image/init-script.js';

describe('/init', () => {
  const script = renderInit({
    moduleList: '/etc/kata-ts/modules.load',
    agentCommand: ['/usr/bin/node', '/opt/kata-ts/agent.mjs', '--log-level', "it's"],
    ociRuntime: '/usr/bin/crun',
  });

  test('busybox sh accepts it', () => {
    const res = spawnSync('busybox', ['sh', '-n'], { input: script, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(script.startsWith('#!/bin/sh\n'));
  });

  test('loads the module list, waits for the serial port, runs the agent, powers off after it', () => {
    assert.match(script, /done < \/etc\/kata-ts\/modules\.load$/m);
    assert.match(script, /mount -t cgroup2 .* \/sys\/fs\/cgroup/);
    assert.match(script, /\/sys\/class\/virtio-ports\/vport\*/);
    assert.match(script, /^set -- \/usr\/bin\/node \/opt\/kata-ts\/agent\.mjs --log-level 'it'\\''s'$/m);
    assert.match(script, /--oci-runtime \/usr\/bin\/crun/);
    assert.match(script, /agent\.debug_console/);
    assert.ok(script.trimEnd().endsWith('poweroff -f'));
  });

  test('shellQuote leaves plain words alone and quotes the rest', () => {
    assert.equal(shellQuote('/usr/bin/node'), '/usr/bin/node');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
  });
});
