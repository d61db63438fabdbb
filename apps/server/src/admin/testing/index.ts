export * from './admin-test-server.js';
