// Errors from device remapping. Every failure has its own class (all
// extending DeviceRemapError) and a message naming the path and numbers
// involved. When one of these is thrown, nothing was changed: remapping is a
// pure function and the input spec is never modified.

/** Base class of every device remapping error. */
export class DeviceRemapError extends Error {
  override readonly name: string = 'DeviceRemapError';
}

/** An update is malformed (bad type, numbers or paths). */
export class InvalidDeviceUpdateError extends DeviceRemapError {
  override readonly name = 'InvalidDeviceUpdateError';
  constructor(
    readonly index: number,
    readonly field: string,
    reason: string,
  ) {
    super(`device update #${index + 1}: ${field} ${reason}`);
  }
}

/** The spec has no `linux` section, so there are no devices to update. */
export class MissingLinuxSectionError extends DeviceRemapError {
  override readonly name = 'MissingLinuxSectionError';
  constructor() {
    super('the spec has no linux section, so its devices cannot be updated');
  }
}

/** A `linux.devices` or `linux.resources.devices` value is not usable. */
export class InvalidSpecDevicesError extends DeviceRemapError {
  override readonly name = 'InvalidSpecDevicesError';
}

/** Two updates name the same container path. */
export class DuplicateDeviceUpdateError extends DeviceRemapError {
  override readonly name = 'DuplicateDeviceUpdateError';
  constructor(readonly paths: readonly string[]) {
    super(`more than one device update for ${paths.join(', ')}`);
  }
}

/** An update names a path that is not in the spec's linux.devices. */
export class DeviceNotInSpecError extends DeviceRemapError {
  override readonly name = 'DeviceNotInSpecError';
  constructor(readonly paths: readonly string[]) {
    super(`device update for a path not in linux.devices: ${paths.join(', ')}`);
  }
}

/** An updated path appears more than once in linux.devices. */
export class AmbiguousDevicePathError extends DeviceRemapError {
  override readonly name = 'AmbiguousDevicePathError';
  constructor(readonly paths: readonly string[]) {
    super(`linux.devices lists these updated paths more than once: ${paths.join(', ')}`);
  }
}

/** An update's block/char type disagrees with the spec entry's type. */
export class DeviceTypeMismatchError extends DeviceRemapError {
  override readonly name = 'DeviceTypeMismatchError';
  constructor(
    readonly path: string,
    readonly specType: string,
    readonly updateType: string,
  ) {
    super(`device ${path}: linux.devices has type ${JSON.stringify(specType)} but the update says ${updateType}`);
  }
}

/**
 * Two updated devices had the same original (type, major, minor) but are
 * given different guest numbers: a rule for that original device cannot
 * follow both.
 */
export class ConflictingDeviceUpdateError extends DeviceRemapError {
  override readonly name = 'ConflictingDeviceUpdateError';
  constructor(
    readonly original: string,
    readonly first: { path: string; guest: string },
    readonly second: { path: string; guest: string },
  ) {
    super(
      `conflicting updates for original device ${original}: ` +
        `${first.path} -> ${first.guest} but ${second.path} -> ${second.guest}`,
    );
  }
}

/** After renaming, two different devices would have the same path. */
export class FinalPathConflictError extends DeviceRemapError {
  override readonly name = 'FinalPathConflictError';
  constructor(
    readonly path: string,
    readonly devices: readonly string[],
  ) {
    super(`after remapping, ${path} would name two different devices: ${devices.join(' and ')}`);
  }
}
