export * from './projections-test-server.js';
