export * from './admin-operations.js';
export * from './infrastructure.module.js';
export * from './stores.js';
export * from './readiness.js';
export * from './event-store-metrics.js';
export * from './wait-for-database.js';
export * from './erase-user.js';
