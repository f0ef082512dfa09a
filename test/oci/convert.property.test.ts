// Property tests: JSON -> protobuf -> bytes -> protobuf -> JSON is the
// identity on every spec the protobuf can represent (see arbitraries.ts for
// what that excludes and docs/oci.md for why).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import * as pb from '../../src/protocols/gen/oci_pb.js';
import {
  lostInProto,
  processFromProto,
  processToProto,
  resourcesFromProto,
  resourcesToProto,
  specFromProto,
  specToProto,
} from '../../src/oci/convert.js';
import { parseSpec } from '../../src/oci/spec.js';
import { processArb, resourcesArb, specArb } from './arbitraries.js';

const runs = { numRuns: 300 };

describe('JSON <-> protobuf round trip (property)', () => {
  test('spec: JSON -> proto -> binary -> proto -> JSON is the identity', () => {
    fc.assert(
      fc.property(specArb(), (spec) => {
        const bytes = toBinary(pb.SpecSchema, specToProto(spec));
        const back = specFromProto(fromBinary(pb.SpecSchema, bytes));
        assert.deepStrictEqual(back, spec);
      }),
      runs,
    );
  });

  test('spec with device-rule numbers including 0, read with zeroIsWildcard: false', () => {
    fc.assert(
      fc.property(specArb({ ruleNumbersFrom: 0 }), (spec) => {
        const bytes = toBinary(pb.SpecSchema, specToProto(spec));
        const back = specFromProto(fromBinary(pb.SpecSchema, bytes), { zeroIsWildcard: false });
        assert.deepStrictEqual(back, spec);
      }),
      runs,
    );
  });

  test('generated specs are valid, parse to themselves, and lose nothing', () => {
    fc.assert(
      fc.property(specArb(), (spec) => {
        assert.deepStrictEqual(parseSpec(spec), spec);
        assert.deepStrictEqual(lostInProto(spec), []);
      }),
      { numRuns: 100 },
    );
  });

  test('process alone (ExecProcess payload) round-trips through bytes', () => {
    fc.assert(
      fc.property(processArb, (proc) => {
        const bytes = toBinary(pb.ProcessSchema, processToProto(proc));
        assert.deepStrictEqual(processFromProto(fromBinary(pb.ProcessSchema, bytes)), proc);
      }),
      runs,
    );
  });

  test('resources alone (UpdateContainer payload) round-trip through bytes', () => {
    fc.assert(
      fc.property(resourcesArb({ ruleNumbersFrom: 1 }), (res) => {
        const bytes = toBinary(pb.LinuxResourcesSchema, resourcesToProto(res));
        assert.deepStrictEqual(resourcesFromProto(fromBinary(pb.LinuxResourcesSchema, bytes)), res);
      }),
      runs,
    );
  });

  test('proto -> JSON -> proto is the identity on protos made from JSON', () => {
    // The other direction: a message produced by specToProto survives a trip
    // through the JSON form byte for byte.
    fc.assert(
      fc.property(specArb(), (spec) => {
        const msg = specToProto(spec);
        const again = specToProto(specFromProto(msg));
        assert.deepStrictEqual(toBinary(pb.SpecSchema, again), toBinary(pb.SpecSchema, msg));
      }),
      { numRuns: 100 },
    );
  });
});
