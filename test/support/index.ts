export * from './test-server.js';
export * from './server-process.js';
export * from './fuzz.js';
