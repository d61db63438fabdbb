export * from './caller.js';
export * from './require-permission.js';
