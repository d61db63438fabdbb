import { Catch, HttpException, Inject, Injectable, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { grpcCodeOfHttpStatus, httpErrorOf, isDomainError, statusBody, GrpcCode, type ErrorBody } from '#errors';
import { LOGGER, type Logger } from '#logging';

/** The part of Express's response the filter uses. */
interface JsonResponse {
  headersSent: boolean;
  status(code: number): { json(body: unknown): void };
  setHeader(name: string, value: string): void;
  end(): void;
}

/**
 * A refusal of the HTTP layer below the routes that is not an HttpException: body-parser's
 * errors (malformed JSON, a body too large) carry a 4xx `statusCode` and `expose: true`, which
 * says their message is meant for the client.
 */
function clientHttpError(err: unknown): { status: number; message: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { statusCode, expose, message } = err as { statusCode?: unknown; expose?: unknown; message?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500 || expose !== true) return undefined;
  return { status: statusCode, message: typeof message === 'string' ? message : 'Bad Request' };
}

/**
 * Every error of every Nest route (the admin and projection routes, /healthz, /readyz,
 * /metrics, an unknown path) in the REST API's shape, through the one mapping in #errors:
 * - a DomainError: its status, "<text> (<id>)" and one zitadel.v1.ErrorDetail {id, message},
 *   exactly as the REST gateway answers it;
 * - a refusal of the HTTP layer (no such route, malformed JSON, a body too large): its own
 *   4xx status, the matching code, no ErrorDetail;
 * - anything else is a bug: logged with its stack, answered 500 "Internal error" with nothing
 *   of the original message.
 * Bad input never gets here as such: the ValidationPipe turns it into an InvalidArgument.
 */
@Catch()
@Injectable()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(@Optional() @Inject(LOGGER) private readonly logger?: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<JsonResponse>();
    if (isDomainError(err)) {
      const { status, headers, body } = httpErrorOf(err);
      if (err.kind === 'Internal') this.logger?.error({ err, errorId: err.id }, 'internal error');
      return this.answer(res, status, body, headers);
    }
    const refusal =
      err instanceof HttpException && err.getStatus() >= 400 && err.getStatus() < 500 ? { status: err.getStatus(), message: err.message } : clientHttpError(err);
    if (refusal) return this.answer(res, refusal.status, statusBody(grpcCodeOfHttpStatus(refusal.status), refusal.message));
    this.logger?.error({ err }, 'unhandled error in an HTTP route');
    this.answer(res, 500, statusBody(GrpcCode.Internal, 'Internal error'));
  }

  private answer(res: JsonResponse, status: number, body: ErrorBody, headers: Record<string, string> = {}): void {
    // A route that writes its own response (e.g. /metrics) may have started it already.
    if (res.headersSent) return res.end();
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.status(status).json(body);
  }
}
