// Network RPCs: thin wrappers over the guest network library.
import type { GuestNetwork } from '../network/index.js';
import type { DeviceContext } from '../device/handler.js';
import { waitForPciNetInterface } from '../device/network-device.js';
import type { AgentServiceImpl } from './agent-service.js';
import { invalidArgument, translated } from './errors.js';

export function networkRpcs(net: GuestNetwork, deviceContext: () => DeviceContext): AgentServiceImpl {
  return {
    updateInterface: (req) =>
      translated(async () => {
        if (!req.interface) throw invalidArgument('interface', 'missing');
        // A hot-plugged NIC may not be there yet: wait for it by its PCI path.
        if (req.interface.devicePath !== '') {
          await waitForPciNetInterface(req.interface.devicePath, deviceContext(), 'interface.devicePath');
        }
        return net.updateInterface(req.interface);
      }),
    updateRoutes: (req) =>
      translated(async () => {
        if (!req.routes) throw invalidArgument('routes', 'missing');
        return { Routes: await net.updateRoutes(req.routes.Routes) };
      }),
    listInterfaces: () => translated(async () => ({ Interfaces: await net.listInterfaces() })),
    listRoutes: () => translated(async () => ({ Routes: await net.listRoutes() })),
    addARPNeighbors: (req) =>
      translated(async () => {
        await net.addArpNeighbors(req.neighbors?.ARPNeighbors ?? []);
        return {};
      }),
  };
}
