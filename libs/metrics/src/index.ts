export * from './registry.js';
export { MetricsController } from './metrics.controller.js';
export { MetricsModule } from './metrics.module.js';
