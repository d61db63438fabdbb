export * from './pino-logger.js';
export * from './request-context.js';
