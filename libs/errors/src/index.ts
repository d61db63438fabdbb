export * from './domain-error.js';
export { translate, type MessageParams } from './messages.js';
export * from './status.js';
