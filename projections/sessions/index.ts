export * from './schema.js';
export * from './session-view.js';
export { ListSessionsHandler } from './queries/list-sessions.handler.js';
export * from './queries/list-sessions.query.js';
export * from './session-projection.module.js';
export * from './session-projection.js';
