// The errors of the storage layer. Each names the request field at fault
// ("storages[2].mount_point: ...", proto field names) and carries the gRPC
// status name the RPC layer answers with.

import { StatusError } from '../../common/status-error.js';

/** gRPC status names used by this layer (a subset of grpc.Code). */
export type StorageErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'INTERNAL';

export class StorageError extends StatusError<StorageErrorCode> {
  override name = 'StorageError';
  /** The field at fault, e.g. "mount_point", or "storages[1].mount_point" once placed in a list. */
  field: string | undefined;

  constructor(
    code: StorageErrorCode,
    field: string | undefined,
    /** The problem, without the field name. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, field === undefined ? detail : `${field}: ${detail}`, options);
    this.field = field;
  }

  /** Places the field under `storages[index]` (for errors about one storage of a request). */
  atIndex(index: number, list = 'storages'): this {
    const inner = this.field === undefined ? '' : `.${this.field}`;
    this.field = `${list}[${index}]${inner}`;
    this.message = `${this.field}: ${this.detail}`;
    return this;
  }
}

/** Storage.driver names no handler. */
export class UnknownStorageDriverError extends StorageError {
  override name = 'UnknownStorageDriverError';
  constructor(readonly driver: string) {
    super('INVALID_ARGUMENT', 'driver', `unknown storage driver ${JSON.stringify(driver)}`);
  }
}

/** A path would leave the storage root through ".." or a symlink (CVE-2020-2026). */
export class PathEscapeError extends StorageError {
  override name = 'PathEscapeError';
  constructor(
    field: string,
    readonly path: string,
    reason: string,
  ) {
    super('INVALID_ARGUMENT', field, `${JSON.stringify(path)} ${reason}`);
  }
}

/** A mount option that is malformed or could inject other options. */
export class InvalidMountOptionError extends StorageError {
  override name = 'InvalidMountOptionError';
  constructor(
    field: string,
    readonly option: string,
    reason: string,
  ) {
    super('INVALID_ARGUMENT', field, `option ${JSON.stringify(option)} ${reason}`);
  }
}

/** Any other bad field value (empty source, not a block device, ...). */
export class InvalidStorageError extends StorageError {
  override name = 'InvalidStorageError';
  constructor(field: string, detail: string, code: StorageErrorCode = 'INVALID_ARGUMENT') {
    super(code, field, detail);
  }
}

/** The mount (or a step around it: mkdir, chown, hugepages) failed in the guest. */
export class StorageMountError extends StorageError {
  override name = 'StorageMountError';
  constructor(field: string | undefined, detail: string, options?: { cause?: unknown }) {
    super('INTERNAL', field, detail, options);
  }
}

/** Some storages could not be cleaned up; the others were. */
export class StorageReleaseError extends StorageError {
  override name = 'StorageReleaseError';
  constructor(readonly failures: ReadonlyArray<{ mountPoint: string; error: Error }>) {
    super(
      'INTERNAL',
      undefined,
      `could not release ${failures.length} storage(s): ` +
        failures.map((f) => `${JSON.stringify(f.mountPoint)}: ${f.error.message}`).join('; '),
    );
  }
}
