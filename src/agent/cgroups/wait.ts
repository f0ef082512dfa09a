// Waiting for a cgroup file to reach a state: poll with a growing delay, and
// when given a file that the kernel notifies on (cgroup2 *.events files),
// also wake up on inotify events.
import { watch, type FSWatcher } from 'node:fs';
import { CgroupError } from './errors.js';

export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** A file to watch with inotify as well as polling. */
  watchFile?: string;
  /** What is being waited for, for the timeout message. */
  what: string;
}

/**
 * Resolves once `done()` returns true; throws CgroupError DEADLINE_EXCEEDED
 * when it has not by the deadline. `step()` runs before each check (e.g. to
 * write the desired state again).
 */
export async function waitUntil(
  done: () => Promise<boolean>,
  options: WaitOptions,
  step?: (attempt: number) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  if (options.watchFile !== undefined) {
    try {
      watcher = watch(options.watchFile, { persistent: false }, () => wake?.());
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // polling alone will do
    }
  }
  try {
    let delay = 1;
    for (let attempt = 0; ; attempt++) {
      if (step) await step(attempt);
      if (await done()) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new CgroupError('DEADLINE_EXCEEDED', `timed out waiting for ${options.what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(delay, left));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    watcher?.close();
  }
}
