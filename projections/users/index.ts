export * from './schema.js';
export * from './user-view.js';
export { createUserProjection, userProjection, userProjections, USER_PROJECTION_NAME } from './user-projection.js';
export { createUserBatchReducer } from './user-batch.js';
export {
  UserProjectionModule,
  USER_ACTIVE_VERSIONS,
  USER_PROJECTION_RUNNER,
  USER_READ_YOUR_WRITES,
  userProjectionSchemas,
} from './user-projection.module.js';
export { GetUserByIdQuery, GET_USER_MISSING_ID, type GetUserByIdInput } from './queries/get-user-by-id.query.js';
export { GetUserByIdHandler } from './queries/get-user-by-id.handler.js';
export { ListAuthMethodTypesQuery, LIST_AUTH_METHODS_MISSING_ID, type ListAuthMethodTypesInput } from './queries/list-auth-method-types.query.js';
export { ListAuthMethodTypesHandler } from './queries/list-auth-method-types.handler.js';
