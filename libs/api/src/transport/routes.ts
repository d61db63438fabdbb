import type { DescService } from '@bufbuild/protobuf';
import type { ConnectRouter, ConnectRouterOptions } from '@connectrpc/connect';
import { SessionService } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { SessionService as SessionServiceV2beta } from '@zitadel/proto/zitadel/session/v2beta/session_service_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { UserService as UserServiceV2beta } from '@zitadel/proto/zitadel/user/v2beta/user_service_pb.js';
import type { Authenticator } from '#auth';
import type { Logger } from '#logging';
import { Health } from './gen/grpc/health/v1/health_pb.js';
import { createHealthService, type ReadinessProbe } from './health.js';
import { observeCall } from './access-log.js';
import { authentication, errorConversion, validation, type OrgExists } from './interceptors.js';
import { answerDecodingErrorsAsInvalidArgument } from './protocol-errors.js';
import { ReflectionIndex, reflectionV1, reflectionV1alpha, ServerReflectionV1, ServerReflectionV1alpha } from './reflection.js';
import type { SessionServiceImpl, UserServiceImpl } from './tokens.js';
import { v2betaOf } from '../v2beta/bridge.js';

export interface TransportDependencies {
  userService?: UserServiceImpl;
  sessionService?: SessionServiceImpl;
  /** Missing → every call is Unauthenticated. */
  authenticator?: Authenticator;
  /** Checks `x-zitadel-orgid`; missing → every call that names an organization is refused. */
  orgExists?: OrgExists;
  /** Missing → grpc.health.v1.Health answers NOT_SERVING. */
  readiness?: ReadinessProbe;
  logger: Logger;
  /** Aborted when the server stops: health turns NOT_SERVING and ends its Watch streams. */
  shutdown?: AbortSignal;
  /** TRUSTED_PROXIES: peers whose X-Forwarded-For names the client; missing → none. */
  trustedProxies?: readonly string[];
}

/**
 * The API's services, in registration order: the one list that the routes, the REST gateway
 * (its routes come from their HTTP rules), server reflection and health all derive from. A
 * service added here is served, mapped to REST, described and reported on; its
 * implementation comes from `implementationOf`.
 */
export const SERVED_SERVICES = [UserService, SessionService, UserServiceV2beta, SessionServiceV2beta] as const;

/**
 * The protocol services every gRPC server of this kind offers besides its API: discovery
 * (server reflection, both versions clients ask for) and health. They answer without a token,
 * as ZITADEL's do: a client discovers the API and an orchestrator probes health before either
 * holds credentials, and neither reveals more than the public descriptors and a status.
 */
export const UNAUTHENTICATED_SERVICES = [ServerReflectionV1, ServerReflectionV1alpha, Health] as const;

/** Every service this port answers gRPC for, by full name. */
export const SERVICE_NAMES: ReadonlySet<string> = new Set([...SERVED_SERVICES, ...UNAUTHENTICATED_SERVICES].map((s) => s.typeName));

/** gRPC's default limit for a received message, which ZITADEL keeps. */
export const READ_MAX_BYTES = 4 * 1024 * 1024;

export type Routes = (router: ConnectRouter) => void;

function implementationOf(service: DescService, deps: TransportDependencies): object | undefined {
  switch (service.typeName) {
    case UserService.typeName:
      return deps.userService;
    case SessionService.typeName:
      return deps.sessionService;
    // v2beta is answered by the v2 implementation (see v2betaOf), as ZITADEL serves both.
    case UserServiceV2beta.typeName:
      return v2betaOf(UserServiceV2beta, UserService, deps.userService);
    case SessionServiceV2beta.typeName:
      return v2betaOf(SessionServiceV2beta, SessionService, deps.sessionService);
    default:
      return undefined;
  }
}

/**
 * The connect routes of the API's services, each wrapped in the same interceptors, in this
 * order: error conversion (outermost), the access log's observer, authentication, validation. Every consumer of the routes
 * (the Express middleware for HTTP/1.1, the Node adapter for h2c, and the REST gateway's
 * in-process transport) therefore runs exactly the same chain. Methods left out of an impl
 * answer Unimplemented. Reflection and health get the same chain without authentication.
 */
export function createRoutes(deps: TransportDependencies): Routes {
  const common: Partial<ConnectRouterOptions> = {
    // ZITADEL's gateway and connect-go both discard unknown JSON fields.
    jsonOptions: { ignoreUnknownFields: true },
    readMaxBytes: READ_MAX_BYTES,
    // ZITADEL's OpenAPI-generated SDKs send Connect JSON without Connect-Protocol-Version.
    requireConnectProtocolHeader: false,
  };
  const api: Partial<ConnectRouterOptions> = {
    ...common,
    interceptors: [errorConversion(deps.logger), observeCall, authentication(deps.authenticator, deps.orgExists), validation],
  };
  const unauthenticated: Partial<ConnectRouterOptions> = { ...common, interceptors: [errorConversion(deps.logger), observeCall, validation] };

  const reflection = new ReflectionIndex([...SERVED_SERVICES, ...UNAUTHENTICATED_SERVICES]);
  const health = createHealthService({
    readiness: deps.readiness,
    services: [...SERVICE_NAMES],
    logger: deps.logger,
    ...(deps.shutdown ? { shutdown: deps.shutdown } : {}),
  });
  return (router) => {
    for (const service of SERVED_SERVICES) router.service(service as DescService, implementationOf(service, deps) ?? {}, api);
    router.service(ServerReflectionV1, reflectionV1(reflection), unauthenticated);
    router.service(ServerReflectionV1alpha, reflectionV1alpha(reflection), unauthenticated);
    router.service(Health, health, unauthenticated);
    answerDecodingErrorsAsInvalidArgument(router);
  };
}
