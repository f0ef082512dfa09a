// Hot-plugged devices: per-driver handlers, their table, and the step that
// turns a request's Device list into spec updates.
export * from './block-device-handler.js';
export * from './collect.js';
export * from './device-node.js';
export * from './errors.js';
export type * from './handler.js';
export * from './network-device.js';
export * from './nvdimm-device-handler.js';
export * from './pci-device.js';
export * from './registry.js';
export * from './scsi-device-handler.js';
export * from './validate.js';
export * from './vfio-device-handler.js';
