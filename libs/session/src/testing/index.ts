export * from './given-when-then.js';
export * from './session-test-app.js';
