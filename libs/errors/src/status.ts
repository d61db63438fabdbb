import type { DomainError, ErrorKind } from './domain-error.js';

/**
 * The gRPC status codes (google.rpc.Code). Connect's `Code` enum has the same numbers, so a
 * value from here can be handed to Connect as it is; this unit stays free of the transport.
 */
export const GrpcCode = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The kinds are named as gRPC names its codes, so each kind is the code of the same name. */
export function grpcCodeOf(kind: ErrorKind): GrpcCode {
  return GrpcCode[kind] ?? GrpcCode.Internal;
}

/**
 * gRPC code → HTTP status, as grpc-gateway v2's runtime.HTTPStatusFromCode maps them (which is
 * what ZITADEL's REST API answers). FailedPrecondition is 400, deliberately not 412.
 */
export function httpStatusOfCode(code: number): number {
  switch (code) {
    case GrpcCode.Canceled:
      return 499;
    case GrpcCode.Unknown:
      return 500;
    case GrpcCode.InvalidArgument:
      return 400;
    case GrpcCode.DeadlineExceeded:
      return 504;
    case GrpcCode.NotFound:
      return 404;
    case GrpcCode.AlreadyExists:
      return 409;
    case GrpcCode.PermissionDenied:
      return 403;
    case GrpcCode.ResourceExhausted:
      return 429;
    case GrpcCode.FailedPrecondition:
      return 400;
    case GrpcCode.Aborted:
      return 409;
    case GrpcCode.OutOfRange:
      return 400;
    case GrpcCode.Unimplemented:
      return 501;
    case GrpcCode.Internal:
      return 500;
    case GrpcCode.Unavailable:
      return 503;
    case GrpcCode.DataLoss:
      return 500;
    case GrpcCode.Unauthenticated:
      return 401;
    default:
      return 500;
  }
}

/** The HTTP status a DomainError of this kind is answered with. */
export function httpStatusOf(kind: ErrorKind): number {
  return httpStatusOfCode(grpcCodeOf(kind));
}

/**
 * The code for a refusal that only has an HTTP status (the HTTP layer's own: no route, a body
 * it cannot parse or that is too large), so that it is answered in the same shape. grpc-gateway
 * answers an unknown route with NotFound and a wrong verb with Unimplemented; a body too large
 * is ResourceExhausted, as the REST gateway answers it.
 */
export function grpcCodeOfHttpStatus(status: number): GrpcCode {
  switch (status) {
    case 401:
      return GrpcCode.Unauthenticated;
    case 403:
      return GrpcCode.PermissionDenied;
    case 404:
      return GrpcCode.NotFound;
    case 405:
      return GrpcCode.Unimplemented;
    case 409:
      return GrpcCode.Aborted;
    case 413:
    case 429:
      return GrpcCode.ResourceExhausted;
    case 501:
      return GrpcCode.Unimplemented;
    case 503:
      return GrpcCode.Unavailable;
    case 504:
      return GrpcCode.DeadlineExceeded;
    default:
      return status >= 500 ? GrpcCode.Internal : GrpcCode.InvalidArgument;
  }
}

export const ERROR_DETAIL_TYPE = 'type.googleapis.com/zitadel.v1.ErrorDetail';

/** One detail of an error body: `@type` names the message, the other fields are its JSON. */
export interface ErrorBodyDetail {
  '@type': string;
  [field: string]: unknown;
}

/**
 * grpc-gateway's error body: a google.rpc.Status as JSON. ZITADEL's gateway marshals it leaving
 * unpopulated fields out, so `details` is only there when there is one.
 */
export interface ErrorBody {
  code: number;
  message: string;
  details?: ErrorBodyDetail[];
}

/** The body of a refusal; without details (no DomainError behind it) the field is left out. */
export function statusBody(code: number, message: string, details: ErrorBodyDetail[] = []): ErrorBody {
  return details.length > 0 ? { code, message, details } : { code, message };
}

/**
 * A DomainError as the REST API answers it: "<text> (<id>)" and one zitadel.v1.ErrorDetail
 * {id, message}, as ZITADEL's gateway renders the status its ZITADELToGRPCError made.
 */
export function errorBody(err: DomainError): ErrorBody {
  return statusBody(grpcCodeOf(err.kind), err.statusMessage, [{ '@type': ERROR_DETAIL_TYPE, id: err.id, message: err.message }]);
}

/**
 * The headers that go with an error answer. grpc-gateway sets WWW-Authenticate to the status
 * message on Unauthenticated (its DefaultHTTPErrorHandler), and ZITADEL's REST API with it.
 */
export function errorHeaders(code: number, message: string): Record<string, string> {
  return code === GrpcCode.Unauthenticated ? { 'www-authenticate': message } : {};
}

/** Status, headers and body of the HTTP answer to a DomainError: the one mapping for every HTTP route. */
export function httpErrorOf(err: DomainError): { status: number; headers: Record<string, string>; body: ErrorBody } {
  const body = errorBody(err);
  return { status: httpStatusOf(err.kind), headers: errorHeaders(body.code, body.message), body };
}
