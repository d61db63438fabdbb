export * from './event-store.js';
export * from './errors.js';
export { onAppended } from './append-observer.js';
export { isUnstorableText, MAX_STREAM_LENGTH, validateAppend } from './validate-append.js';
export * from './postgres/position.js';
export * from './postgres/postgres-event-store.js';
export * from './postgres/schema.js';
