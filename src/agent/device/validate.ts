// Checking the Device list of a request before anything is waited for.
//
// Every device needs a type we have a handler for, an id or a vm_path, and
// a container_path naming a node below /dev (the linux.devices entry it
// stands for). Then the handler checks its own fields (PCI path, SCSI
// address, VFIO options...). Errors name the field as the request does:
// "devices[1].type: unknown device type \"foo\"".
import { InvalidDeviceError, UnknownDeviceTypeError } from './errors.js';
import type { DeviceHandler, DeviceRequest } from './handler.js';
import { findDeviceHandler } from './registry.js';

/** Checks a container_path: absolute, below /dev, without ".." components. */
export function checkContainerPath(path: string, field: string): void {
  if (path === '') throw new InvalidDeviceError(field, 'must not be empty');
  if (!path.startsWith('/')) throw new InvalidDeviceError(field, `${JSON.stringify(path)} is not an absolute path`);
  if (!path.startsWith('/dev/') || path.length === '/dev/'.length) {
    throw new InvalidDeviceError(field, `${JSON.stringify(path)} is not below /dev`);
  }
  if (path.split('/').includes('..')) throw new InvalidDeviceError(field, `${JSON.stringify(path)} contains ".."`);
}

/**
 * Checks the device at position `index` of the request and returns its
 * handler. Throws InvalidDeviceError (UnknownDeviceTypeError for an
 * unsupported type) naming devices[index].<field>.
 */
export function validateDevice(device: DeviceRequest, index: number): DeviceHandler {
  const at = `devices[${index}].`;
  if (device.type === '') throw new InvalidDeviceError(`${at}type`, 'must not be empty');
  const handler = findDeviceHandler(device.type);
  if (!handler) throw new UnknownDeviceTypeError(`${at}type`, device.type);
  if (device.id === '' && device.vmPath === '') {
    throw new InvalidDeviceError(`${at}id`, 'id and vm_path must not both be empty');
  }
  checkContainerPath(device.containerPath, `${at}container_path`);
  try {
    handler.validate?.(device);
  } catch (err) {
    if (err instanceof InvalidDeviceError) throw err.withFieldPrefix(at);
    throw err;
  }
  return handler;
}

/** Checks every device (see validateDevice); returns their handlers in order. */
export function validateDevices(devices: readonly DeviceRequest[]): DeviceHandler[] {
  return devices.map((device, i) => validateDevice(device, i));
}
