import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest, parseSignal, Session } from '../../src/agent-ctl/request-builder.js';
import { CommandSyntaxError } from '../../src/agent-ctl/command-language.js';
import {
  GuestDetailsRequestSchema,
  SignalProcessRequestSchema,
  WaitProcessRequestSchema,
  RemoveContainerRequestSchema,
  type SignalProcessRequest,
  type WaitProcessRequest,
  type GuestDetailsRequest,
  type RemoveContainerRequest,
} from '../../src/protocols/gen/agent_pb.js';

test('signals by number and by name', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('usr1'), 10);
  assert.throws(() => parseSignal('NOPE'), CommandSyntaxError);
});

test('auto-values: a generated container id, exec_id defaulting to it, remembered across commands', () => {
  const s = new Session(true);
  const a = buildRequest(WaitProcessRequestSchema, { args: new Map() }, s) as WaitProcessRequest;
  assert.match(a.containerId, /^[0-9a-f]{64}$/);
  assert.equal(a.execId, a.containerId);
  const b = buildRequest(SignalProcessRequestSchema, { args: new Map([['signal', 'TERM']]) }, s) as SignalProcessRequest;
  assert.equal(b.containerId, a.containerId);
  assert.equal(b.signal, 15);
});

test('name=value pairs set fields (cid alias, numbers), and persist', () => {
  const s = new Session(true);
  const r = buildRequest(RemoveContainerRequestSchema, { args: new Map([['cid', 'c1'], ['timeout', '7']]) }, s) as RemoveContainerRequest;
  assert.equal(r.containerId, 'c1');
  assert.equal(r.timeout, 7);
  const w = buildRequest(WaitProcessRequestSchema, { args: new Map([['exec_id', 'e1']]) }, s) as WaitProcessRequest;
  assert.deepEqual([w.containerId, w.execId], ['c1', 'e1']);
});

test('GetGuestDetails asks for everything with auto-values, nothing without', () => {
  const on = buildRequest(GuestDetailsRequestSchema, { args: new Map() }, new Session(true)) as GuestDetailsRequest;
  assert.deepEqual([on.memBlockSize, on.memHotplugProbe], [true, true]);
  const off = buildRequest(GuestDetailsRequestSchema, { args: new Map() }, new Session(false)) as GuestDetailsRequest;
  assert.deepEqual([off.memBlockSize, off.memHotplugProbe], [false, false]);
});

test('json:// requests use proto field names and are not filled automatically', () => {
  const r = buildRequest(GuestDetailsRequestSchema, { args: new Map(), json: '{"mem_block_size":true}' }, new Session(true)) as GuestDetailsRequest;
  assert.deepEqual([r.memBlockSize, r.memHotplugProbe], [true, false]);
});

test('bad arguments name the field', () => {
  const s = new Session(true);
  assert.throws(() => buildRequest(WaitProcessRequestSchema, { args: new Map([['bogus', '1']]) }, s), /grpc.WaitProcessRequest has no field "bogus"/);
  assert.throws(() => buildRequest(RemoveContainerRequestSchema, { args: new Map([['timeout', 'soon']]) }, s), /timeout: invalid value "soon"/);
  assert.throws(() => buildRequest(GuestDetailsRequestSchema, { args: new Map(), json: '{"nope":1}' }, s), /request JSON for grpc.GuestDetailsRequest/);
  assert.throws(() => buildRequest(GuestDetailsRequestSchema, { args: new Map(), json: '{' }, s), /request JSON:/);
});
