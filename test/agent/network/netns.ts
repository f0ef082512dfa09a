// A network namespace of a test's own, so tests can create links, addresses
// and routes without touching the machine's network. Needs root (or
// CAP_SYS_ADMIN + CAP_NET_ADMIN); `available()` says whether we have it.
import { execFileSync } from 'node:child_process';
import { findIpBinary } from '../../../src/agent/network/ip-command.js';

const IP = findIpBinary();
let counter = 0;

export class TestNetns {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates kata-ts-test-<pid>-<n> with its loopback down, as a fresh guest has it. */
  static create(): TestNetns {
    const name = `kata-ts-test-${process.pid}-${counter++}`;
    execFileSync(IP, ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new TestNetns(name);
  }

  /** Whether this process may create network namespaces. */
  static available(): boolean {
    try {
      TestNetns.create().delete();
      return true;
    } catch {
      return false;
    }
  }

  /** Runs `ip -n <ns> <args>` and returns stdout (throws on failure). */
  ip(...args: string[]): string {
    return execFileSync(IP, ['-n', this.name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs `ip -n <ns> -json <args>` and parses the output. */
  json(...args: string[]): Array<Record<string, unknown>> {
    const out = this.ip('-json', ...args).trim();
    return out === '' ? [] : (JSON.parse(out) as Array<Record<string, unknown>>);
  }

  /** Runs a program inside the namespace (`ip netns exec`). */
  exec(...argv: string[]): string {
    return execFileSync(IP, ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A veth pair; the peer stays down, so `name` has no carrier (and no IPv6 link-local address). */
  addVeth(name: string, mac: string, peer: string, peerMac: string): void {
    this.ip('link', 'add', name, 'address', mac, 'type', 'veth', 'peer', 'name', peer, 'address', peerMac);
  }

  delete(): void {
    execFileSync(IP, ['netns', 'delete', this.name], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** Whether the namespace still exists. */
  exists(): boolean {
    return execFileSync(IP, ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .some((line) => line.split(' ')[0] === this.name);
  }
}
