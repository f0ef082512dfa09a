// The OCI front-end's building blocks for kata-ts-runtime's commands: hooks,
// the `spec` template, the `features` document, and the `check` and `env` data.
export {
  FATAL_HOOK_KINDS,
  HOOK_KINDS,
  HOST_HOOK_KINDS,
  HookError,
  hookLabel,
  hooksOfKind,
  runHooks,
  stateJson,
  type HookKind,
  type OciState,
  type OciStatus,
  type RunHooksOptions,
} from './hooks.js';
export {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  SPEC_FILE_NAME,
  SpecFileExistsError,
  TEMPLATE_HOSTNAME,
  TEMPLATE_OCI_VERSION,
  defaultSpec,
  specFileText,
  writeSpecFile,
  type SpecTemplateOptions,
} from './spec-template.js';
export {
  FEATURE_ANNOTATIONS,
  LINUX_CAPABILITIES,
  OCI_VERSION_MAX,
  OCI_VERSION_MIN,
  featuresDocument,
  formatFeatures,
  type Features,
} from './features.js';
export {
  CHECK_NAMES,
  VHOST_VSOCK_DEVICE,
  decideVerdict,
  formatCheckReport,
  runChecks,
  type CheckName,
  type CheckReport,
  type CheckResult,
  type Verdict,
} from './check.js';
export { collectEnv, type EnvReport } from './env.js';
export { guestOciRuntime, readImageFacts, upstreamVersion, type ImageFacts, type ImageFile } from './image-facts.js';
export { parseAccelHelp, parseDeviceHelp, parseQemuVersion, queryQemu, type QemuFacts } from './qemu-facts.js';
