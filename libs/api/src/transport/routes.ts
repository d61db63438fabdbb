import type { ConnectRouter, ConnectRouterOptions } from '@connectrpc/connect';
import { SessionService } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import type { Authenticator } from '#auth';
import type { Logger } from '#logging';
import { authentication, errorConversion, validation } from './interceptors.js';
import type { SessionServiceImpl, UserServiceImpl } from './tokens.js';

export interface TransportDependencies {
  userService?: UserServiceImpl;
  sessionService?: SessionServiceImpl;
  /** Missing → every call is Unauthenticated. */
  authenticator?: Authenticator;
  logger: Logger;
}

/** The services served, in registration order (the REST gateway derives its routes from them). */
export const SERVED_SERVICES = [UserService, SessionService] as const;

/** gRPC's default limit for a received message, which ZITADEL keeps. */
export const READ_MAX_BYTES = 4 * 1024 * 1024;

export type Routes = (router: ConnectRouter) => void;

/**
 * The connect routes of both services, each wrapped in the same interceptors, in this order:
 * error conversion (outermost), authentication, validation. Every consumer of the routes
 * (the Express middleware for HTTP/1.1, the Node adapter for h2c, and the REST gateway's
 * in-process transport) therefore runs exactly the same chain. Methods left out of an impl
 * answer Unimplemented.
 */
export function createRoutes(deps: TransportDependencies): Routes {
  const options: Partial<ConnectRouterOptions> = {
    interceptors: [errorConversion(deps.logger), authentication(deps.authenticator), validation],
    // ZITADEL's gateway and connect-go both discard unknown JSON fields.
    jsonOptions: { ignoreUnknownFields: true },
    readMaxBytes: READ_MAX_BYTES,
    // ZITADEL's OpenAPI-generated SDKs send Connect JSON without Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
  };
  return (router) => {
    router.service(UserService, deps.userService ?? {}, options);
    router.service(SessionService, deps.sessionService ?? {}, options);
  };
}
