export * from './checkpoint.js';
export * from './describe-when.js';
export * from './eventually.js';
export * from './given-when-then.js';
