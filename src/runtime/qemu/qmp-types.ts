// The QMP commands and events the runtime uses, typed. Names and fields are
// QEMU's (qapi/*.json); only what we send or read is described.

/** blockdev-add for a raw image: a file or a host block device. */
export interface BlockdevAddArgs {
  'node-name': string;
  driver: 'raw';
  'read-only'?: boolean;
  file: { driver: 'file' | 'host_device'; filename: string; 'read-only'?: boolean };
  /** Kata sets these for host block devices; harmless for files. */
  cache?: { direct?: boolean; 'no-flush'?: boolean };
}

/** device_add: a driver name, an id and driver-specific properties. */
export interface DeviceAddArgs {
  driver: string;
  id: string;
  bus?: string;
  addr?: string;
  [property: string]: string | number | boolean | undefined;
}

export interface StatusInfo {
  running: boolean;
  status: string;
}

export interface PciDeviceInfo {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  class_info: { class: number; desc?: string };
  /** BARs; address is -1 while the guest has not enabled decoding. */
  regions?: { bar: number; type: 'memory' | 'io'; address: number; size: number }[];
  id: { vendor: number; device: number };
  pci_bridge?: { bus: { number: number; secondary: number; subordinate: number }; devices?: PciDeviceInfo[] };
}

export interface PciBusInfo {
  bus: number;
  devices: PciDeviceInfo[];
}

type Empty = Record<string, never>;

/** Command name -> arguments and return value. */
export interface QmpCommands {
  qmp_capabilities: { args: undefined; ret: Empty };
  'query-status': { args: undefined; ret: StatusInfo };
  'query-pci': { args: undefined; ret: PciBusInfo[] };
  'blockdev-add': { args: BlockdevAddArgs; ret: Empty };
  'blockdev-del': { args: { 'node-name': string }; ret: Empty };
  device_add: { args: DeviceAddArgs; ret: Empty };
  device_del: { args: { id: string }; ret: Empty };
  system_powerdown: { args: undefined; ret: Empty };
  quit: { args: undefined; ret: Empty };
}

export type QmpCommandName = keyof QmpCommands;

/** An asynchronous event, as QEMU sends it. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** The greeting QEMU sends when a client connects. */
export interface QmpGreeting {
  QMP: { version: { qemu: { major: number; minor: number; micro: number }; package: string }; capabilities: string[] };
}
