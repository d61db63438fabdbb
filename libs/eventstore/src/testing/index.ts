export * from './contract.js';
export * from './failing-append-store.js';
export * from './test-backends.js';
export * from './read-all-to-head.js';
export * from './looks.js';
