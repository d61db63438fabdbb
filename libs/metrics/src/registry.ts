import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';

/**
 * The process's one Prometheus registry: every metric of the service is registered here, and
 * `GET /metrics` (MetricsModule) serves it. A module-level singleton, so code outside the Nest
 * container (the projection runner, the CLI) registers on the same one.
 */
export const metricsRegistry = new Registry();

/** Injection token for the registry (the same object as `metricsRegistry`). */
export const METRICS_REGISTRY = Symbol('MetricsRegistry');

let defaultMetricsOn = false;

/** Node's process metrics (CPU, memory, event loop lag, GC) on the registry, once per process. */
export function collectProcessMetrics(registry: Registry = metricsRegistry): void {
  if (registry === metricsRegistry) {
    if (defaultMetricsOn) return;
    defaultMetricsOn = true;
  }
  collectDefaultMetrics({ register: registry });
}

/**
 * A metric is registered once per registry; modules built more than once in a process (tests,
 * the CLI) get the one already there. The configuration of the first registration wins.
 */
export function counter<T extends string>(config: CounterConfiguration<T>, registry: Registry = metricsRegistry): Counter<T> {
  return (registry.getSingleMetric(config.name) as Counter<T> | undefined) ?? new Counter({ ...config, registers: [registry] });
}

export function gauge<T extends string>(config: GaugeConfiguration<T>, registry: Registry = metricsRegistry): Gauge<T> {
  return (registry.getSingleMetric(config.name) as Gauge<T> | undefined) ?? new Gauge({ ...config, registers: [registry] });
}

export function histogram<T extends string>(config: HistogramConfiguration<T>, registry: Registry = metricsRegistry): Histogram<T> {
  return (registry.getSingleMetric(config.name) as Histogram<T> | undefined) ?? new Histogram({ ...config, registers: [registry] });
}

export type { Registry } from 'prom-client';
