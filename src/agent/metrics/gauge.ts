// A gauge whose values are read afresh from the system at every scrape.
import { Gauge, type Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../common/logger.js';

export type SetSample = (labels: Record<string, string>, value: number) => void;

/**
 * Registers a gauge that, on each scrape, forgets its old samples (a
 * vanished disk or interface must not linger) and calls `fill` to set the
 * current ones. A failing `fill` leaves the gauge empty for that scrape.
 */
export function liveGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  fill: (set: SetSample) => Promise<void>,
  logger: Logger = silentLogger,
): Gauge {
  const gauge: Gauge = new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      gauge.reset();
      try {
        await fill((labels, value) => {
          if (labelNames.length === 0) gauge.set(value);
          else gauge.set(labels, value);
        });
      } catch (err) {
        logger.info({ err, metric: name }, 'metric not available');
      }
    },
  });
  return gauge;
}
