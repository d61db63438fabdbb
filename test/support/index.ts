export * from './test-server.js';
export * from './server-process.js';
