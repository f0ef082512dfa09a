// Built-in defaults: what the runtime uses when the configuration file is
// absent or leaves a key out.
import { defaultImageDir, imagePaths } from '../../image/paths.js';

/** The system-wide configuration file, read when no --config is given. */
export const DEFAULT_CONFIG_PATH = '/etc/kata-ts/configuration.toml';

/** The image builder's output directory (<repo>/.cache/image) and the files in it. */
export { defaultImageDir, imagePaths };

export const DEFAULTS = {
  qemuPath: '/usr/bin/qemu-system-x86_64',
  vcpus: 1,
  memoryMiB: 512,
  sharedFs: 'virtio-fs',
  virtioFsDaemon: '/usr/lib/qemu/virtiofsd',
  msize9p: 8192,
  pcieRootPorts: 4,
  accel: 'auto',
  // Kata waits 30 s; a TCG guest on a busy host can take longer than that to boot.
  dialTimeoutS: 60,
  hotplugTimeoutS: 3,
  agentChannel: 'auto',
} as const;
