// The container and process machinery of the agent, independent of the RPC
// layer: what a caller (the RPC handlers) needs to import.

export { Container, type ContainerStatus } from './container.js';
export { DEFAULT_CONSOLE_TIMEOUT_MS, type ContainerContext } from './context.js';
export { createContainer, type CreateContainerRequest } from './create.js';
export {
  ContainerError,
  RuntimeCommandError,
  invalidContainerId,
  invalidExecId,
  type ContainerErrorCode,
} from './errors.js';
export {
  OciRuntime,
  isHybridCgroupHost,
  isNotFoundError,
  isRootInitramfs,
  type OciRuntimeOptions,
  type RuntimeKind,
  type RuntimeState,
} from './oci-runtime.js';
export { validateContainerId, validateExecId, validateSignal, validateTimeoutSeconds } from './validate.js';
export { exitStatus, LOST_STATUS, type ExitStatus } from '../process/exit-status.js';
export { ContainerProcess } from '../process/process.js';
export { Reaper, type ReaperOptions } from '../process/reaper.js';
export type { ProcessStdio } from '../process/stdio.js';
