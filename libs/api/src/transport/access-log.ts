import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { grpcCodeOf, isDomainError } from '#errors';
import { requestContext, type Logger, type RequestRecord } from '#logging';
import { counter, histogram } from '#metrics';
import { callerKey } from './caller-context.js';

/** The parts of Node's HTTP/1.1 and HTTP/2 (compat) requests and responses the log reads. */
export interface ObservedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  httpVersion?: string;
  /** Express sets it on a request a Nest route answered: the route's pattern, never the raw path. */
  route?: { path?: unknown };
}
export interface ObservedResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** A client's id is used only if it is this plain and short; anything else could forge or flood log lines. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** W3C trace context: version-traceid-parentid-flags; an all-zero trace id is invalid. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * The request's id: the client's `x-request-id`, else its `x-correlation-id` (the older name
 * this API accepted), else the trace id of a W3C `traceparent`, else a new one. It is also the
 * correlation id of the events the request writes, so one id leads from a log line to the
 * events and back.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  for (const name of ['x-request-id', 'x-correlation-id']) {
    const value = first(headers[name])?.trim();
    if (value && CLIENT_ID.test(value)) return value;
  }
  const trace = TRACEPARENT.exec(first(headers['traceparent'])?.trim().toLowerCase() ?? '')?.[1];
  if (trace && !/^0+$/.test(trace)) return trace;
  return randomUUID();
}

export type Protocol = 'grpc' | 'grpc-web' | 'connect' | 'rest' | 'http';

function protocolOf(req: ObservedRequest, record: RequestRecord): Protocol {
  const type = first(req.headers['content-type'])?.toLowerCase() ?? '';
  if (type.startsWith('application/grpc-web')) return 'grpc-web';
  if (type.startsWith('application/grpc')) return 'grpc';
  const path = (req.url ?? '').split('?')[0]!;
  if (record.procedure && path === `/${record.procedure}`) return 'connect';
  if (req.headers['connect-protocol-version']) return 'connect';
  return record.procedure ? 'rest' : 'http';
}

/** gRPC's names (NOT_FOUND, …); Connect's enum has no OK, which is 0. */
const CODE_NAMES: Record<number, string> = Object.fromEntries([
  [0, 'OK'],
  ...Object.entries(Code)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, v]) => [v as number, name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()]),
]);
const codeName = (code: number) => CODE_NAMES[code] ?? 'UNKNOWN';

function requestMetrics() {
  return {
    requests: counter({
      name: 'api_requests_total',
      help: 'Requests answered, by service, method (procedure or route; "unknown" for any path nothing serves), protocol and code (gRPC code name for procedures, HTTP status otherwise)',
      labelNames: ['service', 'method', 'protocol', 'code'] as const,
    }),
    duration: histogram({
      name: 'api_request_duration_seconds',
      help: 'Time from the request to the end of its response, by service, method and protocol',
      labelNames: ['service', 'method', 'protocol'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
  };
}

/**
 * The one place every request passes, whatever its protocol (the one-port server calls it for
 * HTTP/1.1 and h2c alike): gives it its id (answered in `x-request-id`, and passed on as the
 * `x-correlation-id` the service implementations put in the events' metadata), runs the handler
 * inside the request's context, and when the response ends writes one access log line and
 * counts it. The labels come only from known procedures and Nest route patterns, so garbage
 * paths cannot grow the number of series.
 */
export function accessLog(logger: Logger) {
  const metrics = requestMetrics();
  return (req: ObservedRequest, res: ObservedResponse, next: () => void): void => {
    const started = process.hrtime.bigint();
    const record: RequestRecord = { requestId: requestIdOf(req.headers) };
    req.headers['x-correlation-id'] = record.requestId;
    res.setHeader('x-request-id', record.requestId);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const protocol = protocolOf(req, record);
      const grpcStatus = Number(first(res.getHeader('grpc-status') as string | string[] | undefined));
      const grpcCode = record.grpcCode ?? (Number.isInteger(grpcStatus) ? grpcStatus : undefined);
      const [service, method] = record.procedure
        ? record.procedure.split('/')
        : typeof req.route?.path === 'string'
          ? ['http', `${req.method} ${req.route.path}`]
          : ['unknown', 'unknown'];
      const code = record.procedure && grpcCode !== undefined ? codeName(grpcCode) : String(res.statusCode);
      metrics.requests.inc({ service, method, protocol, code });
      metrics.duration.observe({ service, method, protocol }, seconds);
      // A server fault is a warning; a client's mistake (4xx, InvalidArgument, …) is an ordinary answer.
      const failed = res.statusCode >= 500 || grpcCode === Code.Internal || grpcCode === Code.Unknown || grpcCode === Code.DataLoss;
      const line = {
        access: true,
        protocol,
        httpMethod: req.method,
        path: (req.url ?? '').split('?')[0],
        ...(record.procedure ? { procedure: record.procedure } : {}),
        status: res.statusCode,
        ...(grpcCode !== undefined ? { grpcCode: codeName(grpcCode) } : {}),
        durationMs: Math.round(seconds * 1e6) / 1e3,
        ...(record.callerId ? { callerId: record.callerId } : {}),
        ...(record.errorId ? { errorId: record.errorId } : {}),
      };
      // Written inside the request's context so the line carries its request id like the others.
      requestContext.run(record, () => (failed ? logger.warn(line, 'request') : logger.info(line, 'request')));
    });
    requestContext.run(record, next);
  };
}

/**
 * Tells the request's record what only the RPC layer knows: which procedure ran, who called,
 * how it ended. Sits inside error conversion, so it sees the DomainError (and its id) itself.
 */
export const observeCall: Interceptor = (next) => async (req) => {
  const record = requestContext.getStore();
  if (!record) return next(req);
  record.procedure = `${req.service.typeName}/${req.method.name}`;
  try {
    const res = await next(req);
    record.grpcCode = 0; // OK
    return res;
  } catch (err) {
    record.grpcCode = isDomainError(err) ? grpcCodeOf(err.kind) : err instanceof ConnectError ? err.code : Code.Internal;
    if (isDomainError(err)) record.errorId = err.id;
    throw err;
  } finally {
    record.callerId = req.contextValues.get(callerKey)?.userId;
  }
};
