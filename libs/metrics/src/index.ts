export * from './registry.js';
export { MetricsController } from './metrics.controller.js';
export * from './metrics.module.js';
export * from './build-info.js';
