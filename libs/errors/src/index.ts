export * from './domain-error.js';
export { translate } from './messages.js';
