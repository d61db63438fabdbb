export * from './stub-services.js';
export * from './test-server.js';
