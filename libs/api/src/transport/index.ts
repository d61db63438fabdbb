export { callerKey, callerOf } from './caller-context.js';
export { SESSION_SERVICE_IMPL, USER_SERVICE_IMPL, type SessionServiceImpl, type UserServiceImpl } from './tokens.js';
export { createRoutes, SERVED_SERVICES, type Routes, type TransportDependencies } from './routes.js';
export { authentication, errorConversion, noAuthenticator, toConnectError, validation } from './interceptors.js';
export { validateMessage } from './validation.js';
export { createRestGateway, restRoutesOf, REST_MAX_BODY_BYTES, type RestRoute } from './rest-gateway.js';
export { OnePortServer } from './one-port-server.js';
export { mountTransport, optionalProvider, serveOnOnePort, transportDependenciesFrom, type ServingApp } from './nest-transport.js';
