import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { counter, gauge, histogram, metricsRegistry } from '#metrics';
import type { Lag } from './lag.js';

/** What the lag gauges ask, per running projection, at each scrape. */
export interface LagSource {
  projection: string;
  /** undefined when the runner has not read its checkpoint yet. */
  lag(): Promise<Lag | undefined>;
  failed(): boolean;
}

export type ReadYourWritesMiss = 'timeout' | 'failed';

/**
 * The projections' metrics on the process registry:
 *   projection_events_applied_total{projection}                 counter (rate() = events/s)
 *   projection_lag_events{projection}                           gauge, at scrape time
 *   projection_lag_seconds{projection}                          gauge: now − createdAt of the oldest unprocessed event
 *   projection_failed{projection}                               1 while stopped by a failing event
 *   projection_read_your_writes_timeouts_total{projection,reason}  a query answered without its wait
 *                                                               (reason timeout: 2 s passed; failed: the projection is stopped)
 *   projection_read_your_writes_wait_seconds{projection}        histogram of the waits
 */
export class ProjectionMetrics {
  private readonly sources = new Set<LagSource>();
  private readonly applied: Counter<'projection'>;
  private readonly rywMisses: Counter<'projection' | 'reason'>;
  private readonly rywWait: Histogram<'projection'>;
  private readonly lagEvents: Gauge<'projection'>;
  private readonly lagSeconds: Gauge<'projection'>;
  private readonly failedGauge: Gauge<'projection'>;
  private measuring: { at: number; result: Promise<Array<{ source: LagSource; lag: Lag | undefined }>> } | undefined;

  constructor(registry: Registry) {
    const self = this;
    this.applied = counter(
      { name: 'projection_events_applied_total', help: 'Events applied to a read model (committed with the checkpoint)', labelNames: ['projection'] },
      registry,
    );
    this.rywMisses = counter(
      {
        name: 'projection_read_your_writes_timeouts_total',
        help: "Queries answered before the read model had passed the store's head as of the request (reason: timeout after 2 s, or failed projection)",
        labelNames: ['projection', 'reason'],
      },
      registry,
    );
    this.rywWait = histogram(
      {
        name: 'projection_read_your_writes_wait_seconds',
        help: "Time a query waited for the read model to pass the store's head as of the request",
        labelNames: ['projection'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      },
      registry,
    );
    this.lagEvents = gauge(
      {
        name: 'projection_lag_events',
        help: "Events in the store after the read model's checkpoint",
        labelNames: ['projection'],
        async collect() {
          await self.collectLag();
        },
      },
      registry,
    );
    this.lagSeconds = gauge(
      {
        name: 'projection_lag_seconds',
        help: 'Age of the oldest event the read model has not processed (0 when caught up)',
        labelNames: ['projection'],
        async collect() {
          await self.collectLag();
        },
      },
      registry,
    );
    this.failedGauge = gauge(
      {
        name: 'projection_failed',
        help: 'Whether the read model is stopped by an event its reducer could not apply (1) or not (0)',
        labelNames: ['projection'],
        collect() {
          for (const s of self.sources) this.set({ projection: s.projection }, s.failed() ? 1 : 0);
        },
      },
      registry,
    );
  }

  eventsApplied(projection: string, count: number): void {
    this.applied.inc({ projection }, count);
  }

  readYourWritesMiss(projection: string, reason: ReadYourWritesMiss): void {
    this.rywMisses.inc({ projection, reason });
  }

  readYourWritesWaited(projection: string, seconds: number): void {
    this.rywWait.observe({ projection }, seconds);
  }

  /** Reports a running projection's lag at every scrape until the returned function is called. */
  track(source: LagSource): () => void {
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
      for (const g of [this.lagEvents, this.lagSeconds, this.failedGauge]) g.remove({ projection: source.projection });
    };
  }

  /** Both lag gauges from one measurement per scrape. */
  private async collectLag(): Promise<void> {
    if (!this.measuring || Date.now() - this.measuring.at > 250) {
      const result = Promise.all(
        [...this.sources].map(async (source) => ({ source, lag: await source.lag().catch(() => undefined) })),
      );
      this.measuring = { at: Date.now(), result };
    }
    for (const { source, lag } of await this.measuring.result) {
      if (!lag) continue;
      this.lagEvents.set({ projection: source.projection }, lag.events);
      this.lagSeconds.set({ projection: source.projection }, lag.seconds);
    }
  }
}

const byRegistry = new WeakMap<Registry, ProjectionMetrics>();

/** The projections' metrics on `registry` (the process's by default), made once per registry. */
export function projectionMetrics(registry: Registry = metricsRegistry): ProjectionMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new ProjectionMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
