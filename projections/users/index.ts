export * from './schema.js';
export * from './user-view.js';
export { GetUserByIdHandler } from './queries/get-user-by-id.handler.js';
export { ListAuthMethodTypesHandler } from './queries/list-auth-method-types.handler.js';
export * from './queries/get-user-by-id.query.js';
export * from './queries/list-auth-method-types.query.js';
export * from './user-projection.module.js';
export * from './user-projection.js';
