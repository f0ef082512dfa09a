// PCI addresses, PCI paths, sysfs resolution and PCIDEVICE_* env rewriting.
export * from './address.js';
export * from './errors.js';
export * from './path.js';
export * from './pcidevice-env.js';
export * from './sysfs.js';
