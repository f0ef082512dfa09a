// networkStats: per-interface counters from /proc/net/dev, for
// StatsContainerResponse.network_stats (the guest's network namespace is
// the sandbox's).
import { readFile } from 'node:fs/promises';
import { fileError } from './errors.js';
import type { NetworkStats } from './types.js';

/** All sixteen columns of one /proc/net/dev line. */
export interface NetDevCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  rxFifo: bigint;
  rxFrame: bigint;
  rxCompressed: bigint;
  rxMulticast: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
  txFifo: bigint;
  txColls: bigint;
  txCarrier: bigint;
  txCompressed: bigint;
}

/** Parses /proc/net/dev: two header lines, then "name: 16 numbers". */
export function parseNetDev(text: string): NetDevCounters[] {
  const out: NetDevCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (name === '' || fields.length < 16 || !fields.every((f) => /^\d+$/.test(f))) continue;
    const n = fields.map((f) => BigInt(f));
    out.push({
      name,
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      rxFifo: n[4]!,
      rxFrame: n[5]!,
      rxCompressed: n[6]!,
      rxMulticast: n[7]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
      txFifo: n[12]!,
      txColls: n[13]!,
      txCarrier: n[14]!,
      txCompressed: n[15]!,
    });
  }
  return out;
}

/** The NetworkStats list of every interface, in /proc/net/dev order. */
export async function networkStats(file = '/proc/net/dev'): Promise<NetworkStats[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileError('reading', file, err);
  }
  return parseNetDev(text).map((c) => ({
    name: c.name,
    rxBytes: c.rxBytes,
    rxPackets: c.rxPackets,
    rxErrors: c.rxErrors,
    rxDropped: c.rxDropped,
    txBytes: c.txBytes,
    txPackets: c.txPackets,
    txErrors: c.txErrors,
    txDropped: c.txDropped,
  }));
}
