export * from './scratch-database.js';
export * from './pglite-templates.js';
