import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentMetrics, collectMetrics } from '../../../src/agent/metrics/index.js';
import { makeFakeTree, removeFakeTree } from '../cgroups/helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (version 0.0.4): HELP and
 * TYPE comments, then samples `name{label="value",...} number`. Throws on any
 * line that is neither, and on a sample whose family has no TYPE.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  // Values as Go's strconv.ParseFloat (what Prometheus uses) reads them: NaN and Inf in any case.
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        assert.match(m[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]!) || types.has(family), `no TYPE for ${m[1]}`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('agent metrics on this machine', () => {
  test('the output parses as Prometheus text and has the kata_agent_* and kata_guest_* families', async () => {
    const m = new AgentMetrics();
    const { types, samples } = parseExposition(await m.collect());
    for (const name of [
      'kata_agent_scrape_count',
      'kata_agent_threads',
      'kata_agent_total_time',
      'kata_agent_total_vm',
      'kata_agent_total_rss',
      'kata_agent_proc_status',
      'kata_agent_io_stat',
      'kata_agent_proc_stat',
      'kata_agent_process_cpu_user_seconds_total',
      'kata_agent_nodejs_heap_size_used_bytes',
      'kata_guest_load',
      'kata_guest_tasks',
      'kata_guest_cpu_time',
      'kata_guest_vm_stat',
      'kata_guest_netdev_stat',
      'kata_guest_diskstat',
      'kata_guest_meminfo',
    ]) {
      assert.ok(types.has(name), `missing ${name}`);
    }
    assert.equal(types.get('kata_agent_scrape_count'), 'counter');
    assert.ok(find(samples, 'kata_agent_threads')!.value >= 1);
    assert.ok(find(samples, 'kata_agent_total_rss')!.value > 1024 * 1024);
    assert.ok(find(samples, 'kata_guest_meminfo', { item: 'mem_total' })!.value > 0);
    assert.ok(find(samples, 'kata_guest_cpu_time', { cpu: 'total', item: 'user' })!.value > 0);
    assert.ok(find(samples, 'kata_guest_netdev_stat', { interface: 'lo', item: 'recv_bytes' }));
    assert.ok(samples.every((s) => s.name.startsWith('kata_agent_') || s.name.startsWith('kata_guest_')));
  });

  test('each scrape counts', async () => {
    const m = new AgentMetrics({ defaultMetrics: false });
    const count = async () => find(parseExposition(await m.collect()).samples, 'kata_agent_scrape_count')!.value;
    assert.equal(await count(), 1);
    assert.equal(await count(), 2);
  });

  test('collectMetrics() serves the process-wide registry', async () => {
    const a = find(parseExposition(await collectMetrics()).samples, 'kata_agent_scrape_count')!.value;
    const b = find(parseExposition(await collectMetrics()).samples, 'kata_agent_scrape_count')!.value;
    assert.equal(b, a + 1);
  });
});

describe('agent metrics from a fake /proc', () => {
  let root: string;
  before(async () => {
    const stat = Array.from({ length: 50 }, (_, i) => String(i + 3));
    stat[0] = 'S';
    stat[14 - 3] = '250'; // utime
    stat[15 - 3] = '50'; // stime
    stat[20 - 3] = '7'; // threads
    stat[23 - 3] = '123456789'; // vsize
    root = await makeFakeTree({
      'loadavg': '1.50 0.75 0.25 3/120 999\n',
      'stat': 'cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0 0 0\nintr 0\n',
      'meminfo': 'MemTotal:  2048 kB\nMemFree:  1024 kB\nHugePages_Total:  4\n',
      'vmstat': 'nr_free_pages 256\npgfault 77\n',
      'net/dev': 'h1\nh2\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n',
      // no diskstats: that family stays empty, the rest still works
      'self/stat': `42 (kata-agent) ${stat.join(' ')}\n`,
      'self/status': 'VmRSS:\t  300 kB\nVmPeak:\t  500 kB\n',
      'self/io': 'rchar: 11\nwchar: 22\n',
    });
  });
  after(async () => removeFakeTree(root));

  test('values come from the files, converted as the Rust agent converts them', async () => {
    const m = new AgentMetrics({ procRoot: root, defaultMetrics: false });
    const { samples, types } = parseExposition(await m.collect());
    const v = (name: string, labels?: Record<string, string>) => find(samples, name, labels)?.value;
    assert.equal(v('kata_guest_load', { item: 'load1' }), 1.5);
    assert.equal(v('kata_guest_tasks', { item: 'cur' }), 3);
    assert.equal(v('kata_guest_tasks', { item: 'max' }), 120);
    assert.equal(v('kata_guest_cpu_time', { cpu: 'total', item: 'user' }), 1000); // 100 ticks = 1000 ms
    assert.equal(v('kata_guest_cpu_time', { cpu: '0', item: 'idle' }), 10000);
    assert.equal(v('kata_guest_meminfo', { item: 'mem_total' }), 2048 * 1024);
    assert.equal(v('kata_guest_meminfo', { item: 'hugepages_total' }), 4);
    assert.equal(v('kata_guest_vm_stat', { item: 'pgfault' }), 77);
    assert.equal(v('kata_guest_netdev_stat', { interface: 'eth0', item: 'recv_bytes' }), 1);
    assert.equal(v('kata_guest_netdev_stat', { interface: 'eth0', item: 'sent_compressed' }), 16);
    assert.equal(v('kata_agent_threads'), 7);
    assert.equal(v('kata_agent_total_time'), 3); // (250 + 50) ticks
    assert.equal(v('kata_agent_total_vm'), 123456789);
    assert.equal(v('kata_agent_total_rss'), 300 * 1024);
    assert.equal(v('kata_agent_proc_status', { item: 'vmpeak' }), 500);
    assert.equal(v('kata_agent_io_stat', { item: 'wchar' }), 22);
    assert.equal(v('kata_agent_proc_stat', { item: 'utime' }), 250);
    assert.ok(types.has('kata_guest_diskstat'));
    assert.equal(samples.filter((s) => s.name === 'kata_guest_diskstat').length, 0);
    assert.equal(samples.filter((s) => s.name.startsWith('kata_agent_process_')).length, 0);
  });
});
