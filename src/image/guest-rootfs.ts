// The guest's root filesystem: what goes where.
//
//   /init                          busybox script (init-script.ts)
//   /bin /sbin /lib /lib64         links into /usr, as on the host (merged /usr)
//   /usr/bin/node ...              host programs with their libraries
//   /usr/bin/<applet>              busybox applets
//   /opt/kata-ts/agent.mjs         the agent's loader (agent-bundle.ts)
//   /opt/kata-ts/agent.cjs         the agent bundle, and agent.cjs.cache its V8 code cache
//   /opt/kata-ts/agent.blob        the agent's V8 startup snapshot, when built (startup-snapshot.ts)
//   /opt/kata-ts/package.json      name and version (the agent reports it)
//   /opt/kata-ts/native/build/Release/kata_native.node  the native addon
//   /lib/modules/<release>/...     modules with depmod's index
//   /etc/kata-ts/modules.load      module files the agent needs to listen, in load order
//   /etc/kata-ts/modules-late.load the other module files, which the agent loads once listening
import { access, readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_ENTRY, bundleAgent, codeCacheFileOf, NATIVE_ADDON, scriptFileOf, snapshotRunArgs, writeCodeCache, type AgentBundle } from './agent-bundle.js';
import { addBusybox } from './busybox.js';
import { ImageBuildError } from './errors.js';
import { addHostProgram, sharedLibraries } from './host-programs.js';
import type { ImageConfig } from './image-config.js';
import { renderInit } from './init-script.js';
import type { KernelStage } from './kernel-stage.js';
import { timed, type Progress } from './progress.js';
import { RootfsLayout } from './rootfs-layout.js';
import { EARLY_GUEST_MODULES, splitEarlyModules } from './modules.js';

export const GUEST_AGENT_DIR = '/opt/kata-ts';
export const GUEST_AGENT_BUNDLE = `${GUEST_AGENT_DIR}/agent.mjs`;
/** The agent's startup snapshot (added by the build once made, see startup-snapshot.ts). */
export const GUEST_AGENT_SNAPSHOT = `${GUEST_AGENT_DIR}/agent.blob`;
export const GUEST_MODULE_LIST = '/etc/kata-ts/modules.load';
export const GUEST_LATE_MODULE_LIST = '/etc/kata-ts/modules-late.load';
export const GUEST_NODE = '/usr/bin/node';

export interface GuestRootfs {
  layout: RootfsLayout;
  /** Host files copied in (absolute paths). */
  hostFiles: string[];
  /** Checkout files the guest depends on (relative paths). */
  checkoutFiles: string[];
  bundle: AgentBundle;
}

/** Directories and links every guest has. */
export function addSkeleton(layout: RootfsLayout): void {
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib64']) layout.addDir(dir);
  layout.addSymlink('/bin', 'usr/bin');
  layout.addSymlink('/sbin', 'usr/sbin');
  layout.addSymlink('/lib', 'usr/lib');
  layout.addSymlink('/lib64', 'usr/lib64');
  for (const dir of ['/proc', '/sys', '/dev', '/run', '/mnt', '/etc', '/opt', '/var', '/var/log']) layout.addDir(dir);
  layout.addDir('/tmp', 0o1777);
  layout.addDir('/var/tmp', 0o1777);
  layout.addDir('/root', 0o700);
  layout.addSymlink('/var/run', '../run');
  // The kernel opens /dev/console for init's stdio before /init mounts devtmpfs.
  layout.addCharDevice('/dev/console', 5, 1, 0o600);
  layout.addCharDevice('/dev/null', 1, 3, 0o666);
  layout.addData('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  layout.addData('/etc/group', 'root:x:0:\ntty:x:5:\n');
  layout.addData('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  layout.addSymlink('/etc/mtab', '/proc/self/mounts');
}

/** Adds every file below host directory `hostDir` at `guestDir`. */
async function addTree(layout: RootfsLayout, hostDir: string, guestDir: string): Promise<void> {
  for (const entry of await readdir(hostDir, { withFileTypes: true })) {
    const host = join(hostDir, entry.name);
    const guest = `${guestDir}/${entry.name}`;
    if (entry.isDirectory()) {
      layout.addDir(guest);
      await addTree(layout, host, guest);
    } else if (entry.isFile()) {
      layout.addFile(guest, host, 0o644);
    }
  }
}

export async function assembleGuestRootfs(opts: {
  root: string;
  config: ImageConfig;
  stage: KernelStage;
  workDir: string;
  progress: Progress;
}): Promise<GuestRootfs> {
  const { root, config, stage, workDir, progress } = opts;
  const layout = new RootfsLayout();
  const hostFiles: string[] = [];
  addSkeleton(layout);

  // Real programs first, so that busybox applets never shadow them.
  for (const prog of config.programs) {
    const added = await addHostProgram(layout, prog, workDir, progress);
    if (added) hostFiles.push(...added.hostFiles);
  }
  const busybox = await addBusybox(layout, config.busybox, workDir, progress);
  if (busybox) hostFiles.push(...busybox.hostFiles);

  const bundleFile = join(workDir, 'agent.mjs');
  const bundle = await timed(progress, 'bundling the agent', () => bundleAgent(root, bundleFile));
  layout.addFile(GUEST_AGENT_BUNDLE, bundleFile, 0o644);
  layout.addFile(scriptFileOf(GUEST_AGENT_BUNDLE), scriptFileOf(bundleFile), 0o644);
  // The guest's node is this host's (stripped: same V8), so its code cache fits.
  const node = config.programs.find((p) => p.path === GUEST_NODE)?.path ?? GUEST_NODE;
  await timed(progress, "writing the agent's code cache", () => writeCodeCache(bundleFile, node));
  layout.addFile(codeCacheFileOf(GUEST_AGENT_BUNDLE), codeCacheFileOf(bundleFile), 0o644);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name?: string; version?: string };
  layout.addData(`${GUEST_AGENT_DIR}/package.json`, `${JSON.stringify({ name: pkg.name, version: pkg.version }, null, 2)}\n`);
  await access(join(root, NATIVE_ADDON)).catch((err: unknown) => {
    throw new ImageBuildError(`the native addon ${NATIVE_ADDON} is not built (run npm ci or node-gyp rebuild -C native)`, { cause: err });
  });
  layout.addFile(`${GUEST_AGENT_DIR}/${NATIVE_ADDON}`, join(root, NATIVE_ADDON), 0o755);
  for (const lib of await sharedLibraries(join(root, NATIVE_ADDON))) {
    if (!layout.has(lib)) layout.addFile(lib, await realpath(lib), 0o755);
    hostFiles.push(lib);
  }

  layout.addDir('/lib/modules');
  await addTree(layout, join(stage.modulesRoot, 'lib', 'modules'), '/lib/modules');
  const modulesDep = await readFile(join(stage.modulesRoot, 'lib', 'modules', stage.modules.release, 'modules.dep'), 'utf8');
  const { early, late } = splitEarlyModules(stage.modules.loadOrder, modulesDep, EARLY_GUEST_MODULES);
  layout.addData(GUEST_MODULE_LIST, early.map((m) => `${m}\n`).join(''));
  layout.addData(GUEST_LATE_MODULE_LIST, late.map((m) => `${m}\n`).join(''));

  layout.addData(
    '/init',
    renderInit({
      moduleList: GUEST_MODULE_LIST,
      lateModuleList: GUEST_LATE_MODULE_LIST,
      agentCommand: [GUEST_NODE, GUEST_AGENT_BUNDLE],
      agentArgs: config.agentArgs,
      ...(config.startupSnapshot ? { snapshot: { blob: GUEST_AGENT_SNAPSHOT, command: [GUEST_NODE, ...snapshotRunArgs(GUEST_AGENT_SNAPSHOT, [])] } } : {}),
      ociRuntime: config.ociRuntime,
    }),
    0o755,
  );

  const checkoutFiles = [...bundle.inputs, 'package.json', NATIVE_ADDON, AGENT_ENTRY];
  return { layout, hostFiles: [...new Set(hostFiles)], checkoutFiles, bundle };
}
