// Reading stdio URIs: the forms we take and clear refusals of the rest.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StdioError } from '../../../src/runtime/stdio/errors.js';
import { parseStdioUri } from '../../../src/runtime/stdio/uri.js';

function refused(field: string, pattern: RegExp) {
  return (err: unknown) =>
    err instanceof StdioError &&
    err.code === 'INVALID_ARGUMENT' &&
    err.grpcCode === 3 &&
    err.field === field &&
    err.message.startsWith(`${field}: `) &&
    pattern.test(err.message);
}

describe('parseStdioUri', () => {
  test('the forms we take', () => {
    assert.deepEqual(parseStdioUri('', 'stdin'), { kind: 'none' });
    assert.deepEqual(parseStdioUri('/run/containerd/fifo/1/abc-stdout', 'stdout'), {
      kind: 'path',
      path: '/run/containerd/fifo/1/abc-stdout',
    });
    assert.deepEqual(parseStdioUri('file:///var/log/ctr/a%20b.log', 'stdout'), { kind: 'file', path: '/var/log/ctr/a b.log' });
    assert.deepEqual(parseStdioUri('file://localhost/var/log/x', 'stderr'), { kind: 'file', path: '/var/log/x' });
    assert.deepEqual(parseStdioUri('FILE:///x', 'stderr'), { kind: 'file', path: '/x' });
    assert.deepEqual(parseStdioUri('fd://1234/0', 'stdin'), { kind: 'fd', pid: 1234, fd: 0 });
    assert.deepEqual(parseStdioUri('fd://1/2147483647', 'stdin'), { kind: 'fd', pid: 1, fd: 2147483647 });
  });

  test('binary:// log drivers are refused, naming the field and what to use instead', () => {
    assert.throws(
      () => parseStdioUri('binary:///usr/bin/logger?id=1', 'stdout'),
      refused('stdout', /binary:\/\/ log drivers are not supported .*file:\/\/.*fd:\/\/.*\(got "binary:\/\/\/usr\/bin\/logger\?id=1"\)$/),
    );
  });

  test('anything else is refused', () => {
    const cases: [string, RegExp][] = [
      ['relative/path', /must be empty, an absolute path, or a file:\/\/ or fd:\/\/ URI/],
      ['http://example/x', /the URI scheme "http:" is not supported/],
      ['fifo:///x', /the URI scheme "fifo:" is not supported/],
      ['file://otherhost/x', /must name a local path/],
      ['file:///x?append=1', /take no query or fragment/],
      ['file:///var/log/', /must name a file, not a directory/],
      ['fd://0/1', /fd:\/\/<pid>\/<fd>/],
      ['fd://12/-1', /fd:\/\/<pid>\/<fd>/],
      ['fd://012/1', /fd:\/\/<pid>\/<fd>/],
      ['fd://12/01', /fd:\/\/<pid>\/<fd>/],
      ['fd://12', /fd:\/\/<pid>\/<fd>/],
      ['fd://12/3/4', /fd:\/\/<pid>\/<fd>/],
      ['fd://2147483648/1', /fd:\/\/<pid>\/<fd>/],
      ['fd://x/1', /fd:\/\/<pid>\/<fd>/],
      ['/a\0b', /NUL/],
    ];
    for (const [uri, pattern] of cases) assert.throws(() => parseStdioUri(uri, 'stderr'), refused('stderr', pattern), uri);
  });
});
