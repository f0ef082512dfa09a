// The kata-ts version, read once from package.json (two levels above this
// file both in src/common and in the compiled dist/common).
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const KATA_TS_VERSION = readVersion();

/** The agent API version upstream reports in Health.Version's grpc_version. */
export const AGENT_API_VERSION = '0.0.1';
