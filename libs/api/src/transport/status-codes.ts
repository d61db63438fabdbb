import { Code } from '@connectrpc/connect';
import type { ErrorKind } from '#errors';

/** DomainError kind → gRPC code (the kinds are named as gRPC names them). */
export const codeOfKind: Record<ErrorKind, Code> = {
  InvalidArgument: Code.InvalidArgument,
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  PermissionDenied: Code.PermissionDenied,
  ResourceExhausted: Code.ResourceExhausted,
  FailedPrecondition: Code.FailedPrecondition,
  Aborted: Code.Aborted,
  Unimplemented: Code.Unimplemented,
  Internal: Code.Internal,
  Unavailable: Code.Unavailable,
  Unauthenticated: Code.Unauthenticated,
};

/**
 * gRPC code → HTTP status, as grpc-gateway v2's runtime.HTTPStatusFromCode maps them (which is
 * what ZITADEL's REST API answers). FailedPrecondition is 400, deliberately not 412.
 */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.Canceled:
      return 499;
    case Code.Unknown:
      return 500;
    case Code.InvalidArgument:
      return 400;
    case Code.DeadlineExceeded:
      return 504;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
      return 409;
    case Code.PermissionDenied:
      return 403;
    case Code.ResourceExhausted:
      return 429;
    case Code.FailedPrecondition:
      return 400;
    case Code.Aborted:
      return 409;
    case Code.OutOfRange:
      return 400;
    case Code.Unimplemented:
      return 501;
    case Code.Internal:
      return 500;
    case Code.Unavailable:
      return 503;
    case Code.DataLoss:
      return 500;
    case Code.Unauthenticated:
      return 401;
    default:
      return 500;
  }
}
