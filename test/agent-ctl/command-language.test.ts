import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandSyntaxError, parseCommand, parseDuration } from '../../src/agent-ctl/command-language.js';

test('API commands with name=value arguments', () => {
  const c = parseCommand('SignalProcess cid=abc exec_id=def signal=KILL');
  assert.equal(c.kind, 'api');
  if (c.kind !== 'api') return;
  assert.equal(c.name, 'SignalProcess');
  assert.deepEqual([...c.args], [['cid', 'abc'], ['exec_id', 'def'], ['signal', 'KILL']]);
});

test('json:// keeps the rest of the line verbatim, spaces included', () => {
  const c = parseCommand('GetGuestDetails json://{"mem_block_size": true}');
  assert.deepEqual(c, { kind: 'api', name: 'GetGuestDetails', args: new Map(), json: '{"mem_block_size": true}' });
});

test('file:// names a request file', () => {
  const c = parseCommand('CreateContainer file:///tmp/req.json');
  assert.equal(c.kind === 'api' && c.file, '/tmp/req.json');
});

test('built-ins', () => {
  assert.deepEqual(parseCommand('sleep 250ms'), { kind: 'sleep', ms: 250 });
  assert.deepEqual(parseCommand('repeat -1'), { kind: 'repeat', count: -1 });
  assert.deepEqual(parseCommand('echo hello world'), { kind: 'echo', text: 'hello world' });
  assert.deepEqual(parseCommand('help'), { kind: 'help' });
  assert.deepEqual(parseCommand('quit'), { kind: 'quit' });
  assert.equal(parseDuration('2'), 2000);
});

test('syntax errors say what is wrong', () => {
  for (const [line, re] of [
    ['', /empty command/],
    ['sleep', /needs a duration/],
    ['repeat x', /needs a count/],
    ['repeat -2', /needs a count/],
    ['frobnicate', /unknown built-in command "frobnicate"/],
    ['Check notapair', /argument "notapair" is not name=value/],
    ['Check =v', /is not name=value/],
    ['Bad-Name', /invalid command name/],
  ] as const) {
    assert.throws(() => parseCommand(line), (e: unknown) => e instanceof CommandSyntaxError && re.test(e.message), line);
  }
});
