// Errors of device handling. One class per kind of failure so the RPC layer
// can pick the status code:
//   InvalidDeviceError (and UnknownDeviceTypeError)  -> INVALID_ARGUMENT
//   ConflictingDeviceUpdatesError                    -> INVALID_ARGUMENT
//   DeviceSetupError                                 -> INTERNAL
// (A device that never appears is the uevent module's UeventTimeoutError,
// DEADLINE_EXCEEDED.)

/** Base class of the errors below. */
export class DeviceError extends Error {
  override readonly name: string = 'DeviceError';
}

/**
 * A Device field is unusable. `field` names it the way the request does,
 * e.g. "devices[1].type" or "devices[0].options[2]"; the message is
 * "<field>: <reason>".
 */
export class InvalidDeviceError extends DeviceError {
  override readonly name: string = 'InvalidDeviceError';
  constructor(
    readonly field: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${reason}`, options);
  }

  /** The same error with `prefix` in front of the field ("devices[2]." + "id"). */
  withFieldPrefix(prefix: string): InvalidDeviceError {
    return new InvalidDeviceError(prefix + this.field, this.reason, { cause: this.cause });
  }
}

/** No handler is registered for the Device's type. */
export class UnknownDeviceTypeError extends InvalidDeviceError {
  override readonly name = 'UnknownDeviceTypeError';
  constructor(
    field: string,
    readonly deviceType: string,
  ) {
    super(field, `unknown device type ${JSON.stringify(deviceType)}`);
  }

  override withFieldPrefix(prefix: string): UnknownDeviceTypeError {
    return new UnknownDeviceTypeError(prefix + this.field, this.deviceType);
  }
}

/** Two devices would rewrite the same container device. */
export class ConflictingDeviceUpdatesError extends DeviceError {
  override readonly name = 'ConflictingDeviceUpdatesError';
  constructor(
    readonly containerPath: string,
    readonly indexes: readonly [number, number],
  ) {
    super(
      `Conflicting device updates for ${containerPath}: devices[${indexes[0]}] and devices[${indexes[1]}] both set it up`,
    );
  }
}

/** The guest's sysfs or /dev did not let the device be set up. */
export class DeviceSetupError extends DeviceError {
  override readonly name = 'DeviceSetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
