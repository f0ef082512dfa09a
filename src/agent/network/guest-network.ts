// The guest's network configuration, as the RPC layer uses it: one object
// per network namespace (the agent's own, or a named one in tests) whose
// methods take and return the agent API's types (types.proto).
//
// Calls run one at a time, in order: each is a read-modify-write of the
// namespace's state, and two interleaved updates would see each other's
// half-done work.
import type { ARPNeighbor, Interface, Route } from '../../protocols/gen/types_pb.js';
import { addArpNeighbors } from './arp-neighbors.js';
import { IpCommand, type IpCommandOptions } from './ip-command.js';
import { IFF_LOOPBACK, linkToInterface, readLinks } from './links.js';
import { kernelRouteToRoutes, readRoutes } from './routes.js';
import { updateInterface } from './update-interface.js';
import { updateRoutes } from './update-routes.js';

export type GuestNetworkOptions = IpCommandOptions;

export class GuestNetwork {
  /** How this object runs ip (exposed for tests and diagnostics). */
  readonly ip: IpCommand;
  private tail: Promise<unknown> = Promise.resolve();

  /** `options.netns` names the network namespace to work in; default: our own. */
  constructor(options: GuestNetworkOptions | IpCommand = {}) {
    this.ip = options instanceof IpCommand ? options : new IpCommand(options);
  }

  /**
   * UpdateInterface: configures the link with `iface.hwAddr` (see
   * update-interface.ts) and returns it as it now is.
   */
  updateInterface(iface: Interface): Promise<Interface> {
    return this.serial(() => updateInterface(this.ip, iface));
  }

  /**
   * UpdateRoutes: replaces the routes through the guest's interfaces with
   * `routes` (see update-routes.ts) and returns the main table afterwards.
   */
  updateRoutes(routes: readonly Route[]): Promise<Route[]> {
    return this.serial(() => updateRoutes(this.ip, routes));
  }

  /** ListInterfaces: every link, with its addresses. */
  listInterfaces(): Promise<Interface[]> {
    return this.serial(async () => (await readLinks(this.ip)).map(linkToInterface));
  }

  /** ListRoutes: the main table's unicast routes, IPv4 first. */
  listRoutes(): Promise<Route[]> {
    return this.serial(async () => (await readRoutes(this.ip)).flatMap(kernelRouteToRoutes));
  }

  /** AddARPNeighbors: static neighbour entries (see arp-neighbors.ts). */
  addArpNeighbors(neighbors: readonly ARPNeighbor[]): Promise<void> {
    return this.serial(() => addArpNeighbors(this.ip, neighbors));
  }

  /** Brings every loopback link up (the agent does this when the sandbox starts). */
  bringUpLoopback(): Promise<void> {
    return this.serial(async () => {
      for (const link of await readLinks(this.ip)) {
        if ((link.flags & IFF_LOOPBACK) !== 0) await this.ip.run(['link', 'set', 'dev', link.name, 'up']);
      }
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
