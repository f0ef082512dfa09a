// Reading the pid file an OCI runtime writes for the process it started.

import { readFile } from 'node:fs/promises';
import { ContainerError } from './errors.js';

export async function readPidFile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ContainerError('INTERNAL', `the runtime wrote no pid file ${path}`, { cause: err });
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new ContainerError('INTERNAL', `pid file ${path} holds ${JSON.stringify(text)}, not a pid`);
  }
  return pid;
}
