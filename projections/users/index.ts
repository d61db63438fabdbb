export * from './schema.js';
export * from './user-view.js';
export { createUserProjection, userProjection, USER_PROJECTION_NAME } from './user-projection.js';
export { UserProjectionModule, USER_PROJECTION_RUNNER, userProjectionSchemas } from './user-projection.module.js';
export { GetUserByIdQuery, GET_USER_MISSING_ID, type GetUserByIdInput } from './queries/get-user-by-id.query.js';
export { GetUserByIdHandler } from './queries/get-user-by-id.handler.js';
export { ListAuthMethodTypesQuery, LIST_AUTH_METHODS_MISSING_ID, type ListAuthMethodTypesInput } from './queries/list-auth-method-types.query.js';
export { ListAuthMethodTypesHandler } from './queries/list-auth-method-types.handler.js';
