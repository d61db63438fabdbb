export * from './admin/admin.module.js';
export * from './admin/projections.controller.js';
export * from './server.js';
