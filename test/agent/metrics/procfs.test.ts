import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  meminfoItemName,
  parseDiskstats,
  parseKeyValues,
  parseLoadAvg,
  parseMeminfo,
  parsePidStat,
  parseProcStat,
  parseProcStatus,
} from '../../../src/agent/metrics/procfs.js';

describe('procfs parsers', () => {
  test('loadavg', () => {
    assert.deepEqual(parseLoadAvg('0.20 0.18 0.12 1/80 11206\n'), {
      load1: 0.2,
      load5: 0.18,
      load15: 0.12,
      running: 1,
      total: 80,
    });
  });

  test('meminfo names follow the Rust agent; kB becomes bytes, page counts stay', () => {
    const text = [
      'MemTotal:       16384256 kB',
      'Active(anon):      12345 kB',
      'SReclaimable:        100 kB',
      'Committed_AS:          1 kB',
      'NFS_Unstable:          0 kB',
      'AnonHugePages:         2 kB',
      'HugePages_Total:      16',
      'Hugepagesize:       2048 kB',
      'DirectMap2M:     4194304 kB',
      'Percpu:             3 kB',
    ].join('\n');
    const m = parseMeminfo(text);
    assert.deepEqual(Object.fromEntries(m), {
      mem_total: 16384256 * 1024,
      active_anon: 12345 * 1024,
      s_reclaimable: 100 * 1024,
      committed_as: 1024,
      nfs_unstable: 0,
      anon_hugepages: 2048,
      hugepages_total: 16,
      hugepagesize: 2048 * 1024,
      direct_map_2M: 4194304 * 1024,
      per_cpu: 3 * 1024,
    });
    assert.equal(meminfoItemName('KReclaimable'), 'k_reclaimable');
    assert.equal(meminfoItemName('ShmemPmdMapped'), 'shmem_pmd_mapped');
    assert.equal(meminfoItemName('VmallocUsed'), 'vmalloc_used');
  });

  test('/proc/stat cpu lines, total first; short lines pad with zeros', () => {
    const cpus = parseProcStat('cpu  10 1 5 100 2 0 3 4 0 0\ncpu0 6 1 2 50 1 0 2 2 0 0\ncpu1 4 0 3 50\nintr 1 2 3\n');
    assert.deepEqual(cpus.map((c) => c.cpu), ['total', '0', '1']);
    assert.equal(cpus[0]!.ticks.user, 10);
    assert.equal(cpus[0]!.ticks.steal, 4);
    assert.equal(cpus[2]!.ticks.iowait, 0);
  });

  test('diskstats with 11, 15 and 17 counters', () => {
    const d = parseDiskstats(
      [
        '   8       0 sda 1 2 3 4 5 6 7 8 9 10 11',
        ' 254       0 vda 93813 23359 2829754 19097 24382 23257 2918176 8404 0 9892 27767 3691 62 79544 245',
        ' 254      16 vdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17',
      ].join('\n'),
    );
    assert.deepEqual(d.map((x) => x.name), ['sda', 'vda', 'vdb']);
    assert.equal(d[0]!.values.weighted_time_in_progress, 11);
    assert.equal(d[0]!.values.discards, undefined);
    assert.equal(d[1]!.values.reads, 93813);
    assert.equal(d[1]!.values.time_discarding, 245);
    assert.equal(d[2]!.values.time_flushing, 17);
  });

  test('/proc/<pid>/stat copes with spaces and parentheses in the command name', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    const s = parsePidStat(`1234 (a (b) c) ${fields.join(' ')}`);
    assert.deepEqual(s, { utime: 14, stime: 15, cutime: 16, cstime: 17, numThreads: 20, vsize: 23 });
  });

  test('status and io', () => {
    const st = parseProcStatus('Name:\tnode\nVmPeak:\t  100 kB\nRssAnon:\t 7 kB\nThreads:\t12\nvoluntary_ctxt_switches:\t5\n');
    assert.equal(st.get('vmpeak'), 100);
    assert.equal(st.get('rssanon'), 7);
    assert.equal(st.get('threads'), 12);
    assert.equal(st.get('voluntary_ctxt_switches'), 5);
    assert.equal(st.has('name'), false);
    const io = parseKeyValues('rchar: 10\nwchar: 20\ncancelled_write_bytes: 0\n');
    assert.deepEqual(Object.fromEntries(io), { rchar: 10, wchar: 20, cancelled_write_bytes: 0 });
  });
});
