// The runtime options containerd writes on the stdin of `start`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { decodeRuntimeOptions, RUNTIME_OPTIONS_TYPE } from '../../../src/runtime/shim/runtime-options.js';

/** runtimeoptions.v1.Options { type_url = 1; config_path = 2 }, encoded by hand, plus an unknown field. */
function options(configPath: string, typeUrl = ''): Uint8Array {
  const w = new BinaryWriter();
  if (typeUrl) w.tag(1, 2).string(typeUrl);
  if (configPath) w.tag(2, 2).string(configPath);
  w.tag(9, 0).uint32(5);
  return w.finish();
}

function any(typeUrl: string, value: Uint8Array): Uint8Array {
  return toBinary(AnySchema, create(AnySchema, { typeUrl, value }));
}

test('config_path of runtimeoptions.v1.Options', () => {
  assert.deepEqual(decodeRuntimeOptions(any(RUNTIME_OPTIONS_TYPE, options('/etc/kata-ts/c.toml', 'x'))), {
    typeUrl: RUNTIME_OPTIONS_TYPE,
    configPath: '/etc/kata-ts/c.toml',
  });
  // A prefixed type URL names the same message.
  assert.equal(decodeRuntimeOptions(any(`types.example/${RUNTIME_OPTIONS_TYPE}`, options('/c')))?.configPath, '/c');
  assert.deepEqual(decodeRuntimeOptions(any(RUNTIME_OPTIONS_TYPE, options(''))), { typeUrl: RUNTIME_OPTIONS_TYPE });
});

test('nothing, and options meant for another shim, carry no config path', () => {
  assert.equal(decodeRuntimeOptions(new Uint8Array()), undefined);
  assert.deepEqual(decodeRuntimeOptions(any('containerd.runc.v1.Options', options('/x'))), { typeUrl: 'containerd.runc.v1.Options' });
});

test('bytes that are not an Any, or a broken Options, are errors', () => {
  assert.throws(() => decodeRuntimeOptions(Uint8Array.of(0x0a, 0x05, 0x61)), /not a protobuf Any/);
  assert.throws(() => decodeRuntimeOptions(any(RUNTIME_OPTIONS_TYPE, Uint8Array.of(0x12, 0x09, 0x61))), /invalid runtimeoptions\.v1\.Options/);
});
