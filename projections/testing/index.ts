export * from './history.js';
export * from './test-app.js';
export * from './test-stores.js';
