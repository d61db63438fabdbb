export * from './caller.js';
export * from './require-permission.js';
export * from './role-permissions.js';
