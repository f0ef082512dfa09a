// The guest's network configuration (UpdateInterface, UpdateRoutes,
// ListInterfaces, ListRoutes, AddARPNeighbors), done with iproute2.
export * from './addresses.js';
export * from './arp-neighbors.js';
export * from './errors.js';
export * from './guest-network.js';
export * from './identifiers.js';
export * from './ip-command.js';
export * from './links.js';
export * from './routes.js';
export * from './update-interface.js';
export * from './update-routes.js';
