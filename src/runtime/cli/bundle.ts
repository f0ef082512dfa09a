// Reading an OCI bundle: DIR/config.json, validated.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseSpec, SpecValidationError, type Spec } from '../../oci/spec.js';

export class BundleError extends Error {
  override name = 'BundleError';
}

export interface Bundle {
  dir: string;
  spec: Spec;
}

export async function loadBundle(dir: string): Promise<Bundle> {
  const abs = resolve(dir);
  const file = join(abs, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BundleError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  let spec: Spec;
  try {
    spec = parseSpec(json);
  } catch (err) {
    if (err instanceof SpecValidationError) throw new BundleError(`${file}: ${err.message}`);
    throw err;
  }
  if (!spec.process) throw new BundleError(`${file}: process: required to run a container`);
  if (!spec.root?.path) throw new BundleError(`${file}: root.path: required`);
  return { dir: abs, spec };
}
