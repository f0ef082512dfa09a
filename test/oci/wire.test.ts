// The protobuf layout of oci.proto, which must stay byte-compatible with the
// Kata agent protocol: a table of every field, and hand-encoded bytes for the
// fields whose numbering changed across Kata versions.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { create, fromBinary, ScalarType, toBinary, type DescField } from '@bufbuild/protobuf';
import * as pb from '../../src/protocols/gen/oci_pb.js';

function scalarName(t: ScalarType): string {
  return ScalarType[t].toLowerCase();
}

function fieldType(f: DescField): string {
  switch (f.fieldKind) {
    case 'scalar':
      return scalarName(f.scalar);
    case 'message':
      return f.message.name;
    case 'enum':
      return f.enum.name;
    case 'list':
      return `repeated ${f.listKind === 'message' ? f.message.name : f.listKind === 'enum' ? f.enum.name : scalarName(f.scalar)}`;
    case 'map':
      return `map<${scalarName(f.mapKey)},${f.mapKind === 'message' ? f.message.name : f.mapKind === 'enum' ? f.enum.name : scalarName(f.scalar)}>`;
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('oci.proto wire layout', () => {
  test('every message, field number, name and type matches the reference table', () => {
    const lines: string[] = [];
    for (const m of pb.file_oci.messages) {
      lines.push(m.name);
      for (const f of m.fields) {
        lines.push(`  ${f.number} ${f.name}: ${fieldType(f)}${f.oneof ? ` (oneof ${f.oneof.name})` : ''}`);
      }
    }
    const expected = readFileSync(new URL('./fixtures/oci-proto-fields.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepStrictEqual(lines, expected);
    assert.equal(pb.file_oci.proto.package, 'grpc');
  });

  test('LinuxSeccomp uses the current numbering: Flags=3, Syscalls=4; LinuxSyscall errnoret=3 (oneof), Args=4', () => {
    const msg = create(pb.LinuxSeccompSchema, {
      DefaultAction: 'A',
      Flags: ['F'],
      Syscalls: [{ Names: ['n'], Action: 'B', ErrnoRet: { case: 'errnoret', value: 0 }, Args: [{ Index: 1n }] }],
    });
    // 0a 01 'A' | 1a 01 'F' | 22 0c { 0a 01 'n' | 12 01 'B' | 18 00 | 22 02 { 08 01 } }
    assert.equal(hex(toBinary(pb.LinuxSeccompSchema, msg)), '0a0141' + '1a0146' + '220c' + '0a016e' + '120142' + '1800' + '22020801');
  });

  test('an unset errnoret is not on the wire, and decodes as unset', () => {
    const bytes = toBinary(pb.LinuxSyscallSchema, create(pb.LinuxSyscallSchema, { Names: ['n'] }));
    assert.equal(hex(bytes), '0a016e');
    assert.equal(fromBinary(pb.LinuxSyscallSchema, bytes).ErrnoRet.case, undefined);
  });

  test('Hooks: CreateRuntime=4, CreateContainer=5, StartContainer=6', () => {
    const msg = create(pb.HooksSchema, {
      CreateRuntime: [{ Path: 'a' }],
      CreateContainer: [{ Path: 'b' }],
      StartContainer: [{ Path: 'c' }],
    });
    assert.equal(hex(toBinary(pb.HooksSchema, msg)), '22030a0161' + '2a030a0162' + '32030a0163');
  });

  test('a wildcard device number is -1 as a ten-byte varint', () => {
    const msg = create(pb.LinuxDeviceCgroupSchema, { Major: -1n, Minor: 5n });
    assert.equal(hex(toBinary(pb.LinuxDeviceCgroupSchema, msg)), '18ffffffffffffffffff01' + '2005');
  });

  test('Mount keeps its lower-case field names and Spec.Mounts is field 5', () => {
    const spec = create(pb.SpecSchema, { Mounts: [{ destination: '/d', source: 's', type: 't', options: ['o'] }] });
    assert.equal(hex(toBinary(pb.SpecSchema, spec)), '2a0d' + '0a022f64' + '120173' + '1a0174' + '22016f');
  });
});
