// Kernel device events: parsing, matching, and the monitor handlers wait on.
export * from './errors.js';
export * from './matchers.js';
export * from './monitor.js';
export * from './sysfs-attribute.js';
export * from './uevent.js';
