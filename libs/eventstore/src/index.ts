export * from './event-store.js';
export * from './errors.js';
export { validateAppend } from './validate-append.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export { eventStoreMigrations, EVENT_STORE_HISTORY } from './postgres/schema.js';
