// Progress lines for long steps (download, extract, bundle, pack), written to
// stderr so that stdout stays free for results.

/** Receives one human-readable line per event. */
export type Progress = (line: string) => void;

/** Writes "kata-ts-image: <line>" to stderr. */
export const stderrProgress: Progress = (line) => {
  process.stderr.write(`kata-ts-image: ${line}\n`);
};

/** Drops everything (library use, tests). */
export const silentProgress: Progress = () => {};

/** Runs `step`, announcing it and reporting how long it took. */
export async function timed<T>(progress: Progress, label: string, step: () => Promise<T>): Promise<T> {
  const start = performance.now();
  progress(`${label}...`);
  const result = await step();
  progress(`${label}: done in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}
