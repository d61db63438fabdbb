export * from './mime.js';
export * from './smtp-sink.js';
export * from './test-kit.js';
