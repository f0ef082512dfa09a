// Telling whether a host process is still the one we knew: a pid alone can
// be reused once its process is gone, so it is paired with the process's
// start time (field 22 of /proc/<pid>/stat, in clock ticks since boot).
import { readFileSync } from 'node:fs';

/** The start time of live process `pid`, or null if there is none (or only a zombie). */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited already.
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19] ?? null;
}

/**
 * Calls `onGone` once process `pid` (as it is now) has gone, checking every
 * `intervalMs`. Returns a function that stops watching. The timer does not
 * keep the process alive.
 */
export function watchProcessGone(pid: number, onGone: () => void, intervalMs = 200): () => void {
  const started = processStartTime(pid);
  const check = () => {
    if (started === null || processStartTime(pid) !== started) {
      clearInterval(timer);
      onGone();
    }
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  queueMicrotask(check);
  return () => clearInterval(timer);
}
