import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringifySpec } from '../../src/oci/json.js';
import { parseSpec } from '../../src/oci/spec.js';

describe('stringifySpec', () => {
  test('writes bigints as exact digits', () => {
    const text = stringifySpec({ hard: 18446744073709551615n, min: -9223372036854775808n, small: 5 });
    assert.equal(text, '{"hard":18446744073709551615,"min":-9223372036854775808,"small":5}');
  });

  test('is JSON.stringify for documents without bigints, indentation included', () => {
    const doc = { ociVersion: '1.2.0', process: { cwd: '/', args: ['sh'] }, annotations: { a: 'b' } };
    assert.equal(stringifySpec(doc, '\t'), JSON.stringify(doc, null, '\t'));
  });

  test('strings that look like bigint placeholders are left alone', () => {
    const doc = { note: 'bigint-00:12', values: ['"123"', 7n] };
    const text = stringifySpec(doc);
    assert.equal(text, '{"note":"bigint-00:12","values":["\\"123\\"",7]}');
  });

  test('the u64 "unlimited" rlimit survives parse -> stringify exactly', () => {
    const text = '{"ociVersion":"1.2.0","process":{"cwd":"/","rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615}]}}';
    // JSON.stringify would write 18446744073709552000, which Go rejects for a uint64.
    assert.equal(stringifySpec(parseSpec(JSON.parse(text))), text);
  });

  test('refuses values JSON cannot express', () => {
    assert.throws(() => stringifySpec(undefined), TypeError);
  });
});
