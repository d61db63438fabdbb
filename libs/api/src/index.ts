export * from './api.module.js';
export * from './session-service.js';
export * from './transport/caller-context.js';
export { READINESS, type ReadinessProbe } from './transport/health.js';
export * from './transport/nest-transport.js';
export { HTTP_LIMIT_DEFAULTS, type HttpLimits } from './transport/one-port-server.js';
export * from './transport/tokens.js';
