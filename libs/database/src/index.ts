export * from './sql-database.js';
export * from './migrations.js';
export { PGliteDialect } from './pglite-dialect.js';
