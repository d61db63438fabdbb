export * from './describe-when.js';
export * from './given-when-then.js';
