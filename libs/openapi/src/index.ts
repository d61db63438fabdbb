export { buildOpenApiDocument, openApiPath, BEARER_AUTH, STATUS_SCHEMA, type OpenApiDocument, type OpenApiOptions, type Operation } from './document.js';
export { OPENAPI_DOCUMENT, OpenApiController } from './openapi.controller.js';
export { OpenApiModule } from './openapi.module.js';
export { protoCommentsOf, type ProtoComments } from './proto-comments.js';
