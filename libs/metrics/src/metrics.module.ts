import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { MetricsController } from './metrics.controller.js';
import { collectProcessMetrics, METRICS_REGISTRY, metricsRegistry } from './registry.js';

/**
 * `GET /metrics` and the process's registry (METRICS_REGISTRY, global). Node's process
 * metrics are turned on at init; the features register their own metrics on the same
 * registry (libs/metrics/src/registry.ts), whether this module is imported or not.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: METRICS_REGISTRY, useValue: metricsRegistry }],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule implements OnModuleInit {
  onModuleInit(): void {
    collectProcessMetrics();
  }
}
