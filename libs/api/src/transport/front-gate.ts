import type { Http2ServerResponse } from 'node:http2';
import type { DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createContextValues, type ContextValues } from '@connectrpc/connect';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import type { Caller } from '#access';
import type { Authenticator } from '#auth';
import { httpStatusOfCode } from '#errors';
import type { Logger } from '#logging';
import { callerKey } from './caller-context.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.js';
import { authHeaderMissing, toConnectError } from './interceptors.js';
import { writeStatus, type Req, type Res } from './rest-gateway.js';
import { isGrpcRequest } from './unknown-routes.js';

export interface FrontGateOptions {
  authenticator: Authenticator | undefined;
  /** The services whose calls need a token (the API, not reflection or health). */
  authenticatedServices: readonly DescService[];
  /** Whether a URL is one of the REST gateway's routes. */
  isRestPath: (url: string) => boolean;
  /** Largest Connect JSON body read at the front (the routes' readMaxBytes). */
  readMaxBytes: number;
  logger: Logger;
}

/**
 * The front of every API request, before any body is read: the bearer token is checked here,
 * for every protocol, so that a request without a valid token costs a header look-up and
 * nothing more (connect-es reads and decodes the body before its interceptors run, and the
 * REST gateway would parse JSON first). A refused request gets its protocol's 401 and its
 * body is never parsed. The Caller is kept for the request and handed to the routes as a
 * context value: the authentication interceptor then finds it and does not authenticate again.
 *
 * Connect JSON bodies of authenticated calls are read here too (bounded by readMaxBytes) and
 * refused when nested deeper than MAX_JSON_DEPTH, before JSON.parse sees them; REST bodies are
 * checked the same way by the gateway.
 *
 * Not behind the gate: /healthz, /readyz, /metrics, the docs, unknown paths (each answers for
 * itself), and gRPC reflection and health, which answer without a token.
 */
export function createFrontGate(options: FrontGateOptions) {
  const callers = new WeakMap<object, Caller>();
  const { authenticator, logger } = options;

  // Only what the API serves is behind the gate: an unknown path or method keeps its own answer.
  const rpcPaths = new Set(options.authenticatedServices.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)));
  const isApi = (req: Req): { rpc: boolean } | undefined => {
    const url = req.url ?? '/';
    if (rpcPaths.has(url.split('?')[0]!)) return { rpc: true };
    if (options.isRestPath(url)) return { rpc: false };
    return undefined;
  };

  /** True when the request may go on; otherwise it has been answered. */
  async function admit(req: Req, res: Res): Promise<boolean> {
    const api = isApi(req);
    if (!api) return true;
    let caller: Caller;
    try {
      if (!authenticator) throw new ConnectError('no authenticator', Code.Unauthenticated);
      const header = req.headers.authorization;
      if (typeof header !== 'string' || header === '') throw authHeaderMissing();
      caller = await authenticator.authenticate(header);
    } catch (err) {
      refuse(req, res, api.rpc, err);
      return false;
    }
    callers.set(req, caller);
    if (api.rpc && isConnectJson(req)) return bufferJson(req, res);
    return true;
  }

  function refuse(req: Req, res: Res, rpc: boolean, err: unknown): void {
    // The same conversion as every call's: a DomainError keeps its id; anything else is a bug
    // of the authenticator, logged and answered Internal.
    const error = toConnectError(err, req.url ?? '/', logger);
    // The body is not read: HTTP/1.1 closes the connection after the answer.
    if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
    if (!rpc) writeRestError(res, error);
    else if (isGrpcRequest(req)) writeGrpcError(req, res, error);
    else writeConnectError(res, error);
    stopReading(req, res);
  }

  /** Reads a Connect JSON body, refuses it when nested too deep, and hands it on unparsed. */
  async function bufferJson(req: Req, res: Res): Promise<boolean> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > options.readMaxBytes) {
          if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
          writeConnectError(res, new ConnectError(`message size is larger than configured readMaxBytes ${options.readMaxBytes}`, Code.ResourceExhausted));
          stopReading(req, res);
          return false;
        }
        chunks.push(chunk);
      }
    } catch {
      return false; // the client went away: nothing to answer
    }
    const body = Buffer.concat(chunks);
    if (jsonTooDeep(body, MAX_JSON_DEPTH)) {
      writeConnectError(res, new ConnectError(`invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`, Code.InvalidArgument));
      return false;
    }
    // connect-node reads the body by async iteration: it gets the bytes already read.
    Object.defineProperty(req, Symbol.asyncIterator, {
      configurable: true,
      value: async function* () {
        yield body;
      },
    });
    return true;
  }

  return {
    admit,
    /** The context values of an admitted request: its Caller, for the routes. */
    contextValues(req: object): ContextValues {
      const values = createContextValues();
      const caller = callers.get(req);
      if (caller) values.set(callerKey, caller);
      return values;
    },
  };
}

export type FrontGate = ReturnType<typeof createFrontGate>;

/** Connect's unary JSON (no content-encoding: a compressed body is left to connect-es). */
function isConnectJson(req: Req): boolean {
  const type = req.headers['content-type'];
  const encoding = req.headers['content-encoding'];
  return typeof type === 'string' && /^application\/json\b/i.test(type) && (encoding === undefined || encoding === 'identity');
}

/**
 * HTTP/2: the rest of a refused request's body is declined with RST_STREAM (NO_ERROR, RFC 9113
 * §8.1), sent by Node once the answer is written: the client stops sending, and the stream
 * does not wait for a body nobody reads. (HTTP/1.1 closes the connection: `connection: close`.)
 */
function stopReading(req: Req, res: Res): void {
  if (req.httpVersionMajor < 2) return;
  const stream = (res as Http2ServerResponse).stream;
  if (!stream.closed && !stream.destroyed) stream.close(0 /* NGHTTP2_NO_ERROR */);
}

function writeConnectError(res: Res, error: ConnectError): void {
  const body = Buffer.from(errorToJsonBytes(error, {}));
  res.statusCode = codeToHttpStatus(error.code);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', body.length);
  res.end(body);
}

function writeGrpcError(req: Req, res: Res, error: ConnectError): void {
  const trailer = new Headers();
  setTrailerStatus(trailer, error);
  const headers: Record<string, string> = { 'content-type': req.headers['content-type'] as string };
  trailer.forEach((value, key) => (headers[key] = value));
  if (req.httpVersionMajor >= 2) {
    // Trailers-only: one HEADERS frame that ends the stream.
    (res as Http2ServerResponse).stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  res.writeHead(200, headers);
  res.end();
}

function writeRestError(res: Res, error: ConnectError): void {
  const details = error.details.flatMap((d) =>
    'desc' in d && d.desc === ErrorDetailSchema
      ? [{ '@type': `type.googleapis.com/${ErrorDetailSchema.typeName}`, ...(d.value as { id?: string; message?: string }) }]
      : [],
  );
  writeStatus(res, httpStatusOfCode(error.code), error.code, error.rawMessage, details as never);
}
