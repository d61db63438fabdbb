export * from './clock.js';
export * from './command-context.js';
export * from './decide-on-stream.js';
export * from './ids.js';
export * from './object-details.js';
export * from './event-metadata.js';
export * from './stream-events.js';
export * from './appendable.js';
