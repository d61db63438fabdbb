export * from './capturing-logger.js';
