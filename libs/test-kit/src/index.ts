export * from './describe-when.js';
export * from './given-when-then.js';
export * from './eventually.js';
export * from './checkpoint.js';
