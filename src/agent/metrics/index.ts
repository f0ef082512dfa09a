// GetMetrics: the agent's and the guest's metrics in the Prometheus text
// exposition format.
import { Counter, Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../common/logger.js';
import { AGENT_PREFIX, registerAgentMetrics } from './agent.js';
import { registerGuestMetrics } from './guest.js';

export { AGENT_PREFIX } from './agent.js';
export { GUEST_PREFIX } from './guest.js';

export interface MetricsOptions {
  /** Where /proc is (default /proc); tests point it at a fake tree. */
  procRoot?: string;
  /** Include Node's standard process/runtime metrics (default true). */
  defaultMetrics?: boolean;
  logger?: Logger;
}

/** One metrics registry with the agent and guest metrics registered. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #scrapes: Counter;

  constructor(options: MetricsOptions = {}) {
    const procRoot = options.procRoot ?? '/proc';
    const logger = options.logger ?? silentLogger;
    this.#scrapes = new Counter({
      name: `${AGENT_PREFIX}scrape_count`,
      help: 'Metrics scrape count.',
      registers: [this.registry],
    });
    registerAgentMetrics(this.registry, { procRoot, defaultMetrics: options.defaultMetrics ?? true, logger });
    registerGuestMetrics(this.registry, { procRoot, logger });
  }

  /** The Content-Type of collect()'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads every metric now and returns the Prometheus text. */
  async collect(): Promise<string> {
    this.#scrapes.inc();
    return this.registry.metrics();
  }
}

let shared: AgentMetrics | undefined;

/** The agent's metrics (one process-wide registry, created on first use). */
export async function collectMetrics(): Promise<string> {
  shared ??= new AgentMetrics();
  return shared.collect();
}
