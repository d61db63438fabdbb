import { Catch, HttpException, Inject, Injectable, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { isDomainError, type ErrorKind } from '#errors';
import { LOGGER, type Logger } from '#logging';

/** The part of Express's response the filter uses. */
interface JsonResponse {
  status(code: number): { json(body: unknown): void };
  setHeader(name: string, value: string): void;
}

/** DomainError kind → [gRPC code, HTTP status], as grpc-gateway maps them (reference §5). */
const STATUS: Record<ErrorKind, [number, number]> = {
  InvalidArgument: [3, 400],
  NotFound: [5, 404],
  AlreadyExists: [6, 409],
  PermissionDenied: [7, 403],
  ResourceExhausted: [8, 429],
  FailedPrecondition: [9, 400],
  Aborted: [10, 409],
  Unimplemented: [12, 501],
  Internal: [13, 500],
  Unavailable: [14, 503],
  Unauthenticated: [16, 401],
};

/** A request the route refuses before any command (a malformed body): 400 without an ErrorDetail. */
export class AdminRequestError extends Error {
  override readonly name = 'AdminRequestError';
}

/**
 * Errors of the admin routes in the REST API's shape (a google.rpc.Status in JSON, as ZITADEL's
 * grpc-gateway writes it): `{code, message, details}`. A DomainError carries one
 * zitadel.v1.ErrorDetail {id, message}; a malformed request is a plain InvalidArgument.
 */
@Catch()
@Injectable()
export class AdminErrorFilter implements ExceptionFilter {
  constructor(@Optional() @Inject(LOGGER) private readonly logger?: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<JsonResponse>();
    if (isDomainError(err)) {
      const [code, status] = STATUS[err.kind];
      if (status === 401) res.setHeader('www-authenticate', 'Bearer');
      res.status(status).json({
        code,
        message: err.statusMessage,
        details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: err.id, message: err.message }],
      });
      return;
    }
    if (err instanceof AdminRequestError) {
      res.status(400).json({ code: 3, message: err.message, details: [] });
      return;
    }
    if (err instanceof HttpException && err.getStatus() < 500) {
      // Express's own refusals: malformed JSON, a body too large, an unknown route.
      const status = err.getStatus();
      const code = status === 404 ? 5 : status === 405 ? 12 : 3;
      res.status(status).json({ code, message: err.message, details: [] });
      return;
    }
    this.logger?.error({ err }, 'admin route failed');
    res.status(500).json({ code: 13, message: 'Internal error', details: [] });
  }
}
