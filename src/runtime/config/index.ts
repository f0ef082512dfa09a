export { DEFAULT_CONFIG_PATH, DEFAULTS, defaultImageDir } from './defaults.js';
export { ConfigError, loadConfig, parseConfigText, resolveConfig } from './load.js';
export {
  ACCELERATORS,
  AGENT_CHANNELS,
  MAX_GUEST_CID,
  MIN_GUEST_CID,
  type AgentChannelChoice,
  MAX_PCIE_ROOT_PORTS,
  SHARED_FS_KINDS,
  type AcceleratorChoice,
  type RuntimeConfig,
  type SharedFsKind,
} from './schema.js';
