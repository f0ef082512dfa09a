import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULTS, parseDurationMs, parseKernelCmdline, resolveConfig } from '../../src/agent/config.js';

test('kernel command line: only agent.* parameters, prefix removed', () => {
  const p = parseKernelCmdline('console=ttyS0 quiet agent.log=debug agent.server_addr=vsock://-1:1024 agent.hotplug_timeout=5 agent.flag\n');
  assert.deepEqual([...p], [
    ['log', 'debug'],
    ['server_addr', 'vsock://-1:1024'],
    ['hotplug_timeout', '5'],
    ['flag', ''],
  ]);
});

test('defaults: vsock port 1024 on any CID, 3 s hotplug timeout', () => {
  const cfg = resolveConfig({ flags: {}, env: {} });
  assert.equal(cfg.serverAddr, 'vsock://-1:1024');
  assert.equal(cfg.hotplugTimeoutMs, 3000);
  assert.deepEqual(cfg, DEFAULTS);
});

test('precedence: flag > KATA_AGENT_SERVER_ADDR > kernel command line', () => {
  const kernelCmdline = 'agent.server_addr=unix:///k.sock agent.log=warn agent.hotplug_timeout=7';
  assert.equal(resolveConfig({ flags: {}, env: {}, kernelCmdline }).serverAddr, 'unix:///k.sock');
  assert.equal(resolveConfig({ flags: {}, env: { KATA_AGENT_SERVER_ADDR: 'unix:///e.sock' }, kernelCmdline }).serverAddr, 'unix:///e.sock');
  const cfg = resolveConfig({ flags: { serverAddr: 'unix:///f.sock', logLevel: 'error' }, env: { KATA_AGENT_SERVER_ADDR: 'unix:///e.sock' }, kernelCmdline });
  assert.equal(cfg.serverAddr, 'unix:///f.sock');
  assert.equal(cfg.logLevel, 'error');
  assert.equal(cfg.hotplugTimeoutMs, 7000);
});

test('durations: bare numbers are seconds; ms and m suffixes', () => {
  assert.equal(parseDurationMs('3', 'x'), 3000);
  assert.equal(parseDurationMs('250ms', 'x'), 250);
  assert.equal(parseDurationMs('1.5s', 'x'), 1500);
  assert.equal(parseDurationMs('2m', 'x'), 120_000);
});

test('bad values name the parameter they came from', () => {
  assert.throws(() => resolveConfig({ flags: {}, env: {}, kernelCmdline: 'agent.hotplug_timeout=soon' }), (e: unknown) => e instanceof ConfigError && /agent\.hotplug_timeout: invalid duration "soon"/.test(e.message));
  assert.throws(() => resolveConfig({ flags: { logLevel: 'loud' }, env: {} }), (e: unknown) => e instanceof ConfigError && /--log-level: unknown log level "loud"/.test(e.message));
  assert.equal(resolveConfig({ flags: {}, env: {}, kernelCmdline: 'agent.log=WARNING' }).logLevel, 'warn');
});
