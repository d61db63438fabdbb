import { Code } from '@connectrpc/connect';
import type { Http2ServerResponse } from 'node:http2';
import { writeStatus, type Req, type Res } from './rest-gateway.js';

/** gRPC and gRPC-Web requests carry `application/grpc`, `application/grpc+proto`, `application/grpc-web(-text)(+proto)`. */
export function isGrpcRequest(req: Req): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/grpc(-web(-text)?)?([+;]|$)/i.test(type);
}

/**
 * The answer to what nothing here serves, the same on every path:
 * - gRPC and gRPC-Web: HTTP 200 with grpc-status 12 (UNIMPLEMENTED) and grpc-go's message,
 *   as a trailers-only response (gRPC clients read an HTTP 404 as a broken server, not as
 *   "no such method");
 * - everything else, Connect included: the REST gateway's 404 (`{"code":5,"message":"Not Found"}`),
 *   which Connect clients read as Unimplemented, as they do connect-go's 404.
 */
export function notServed(knownServices: ReadonlySet<string>) {
  return (req: Req, res: Res): void => {
    req.resume();
    if (isGrpcRequest(req)) grpcUnimplemented(req, res, unimplementedMessage(req.url ?? '/', knownServices));
    else writeStatus(res, 404, Code.NotFound, 'Not Found');
  };
}

/** grpc-go's wording, which grpcurl and friends users will recognise. */
export function unimplementedMessage(url: string, knownServices: ReadonlySet<string>): string {
  const path = url.split('?')[0]!;
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match) return `malformed method name: ${JSON.stringify(path)}`;
  const [, service, method] = match;
  return knownServices.has(service!) ? `unknown method ${method} for service ${service}` : `unknown service ${service}`;
}

function grpcUnimplemented(req: Req, res: Res, message: string): void {
  const headers = {
    'content-type': req.headers['content-type'] as string,
    'grpc-status': String(Code.Unimplemented),
    'grpc-message': encodeGrpcMessage(message),
  };
  if (req.httpVersionMajor >= 2) {
    // Trailers-only: one HEADERS frame that ends the stream. Headers and then an empty DATA
    // frame would read, to grpc-go and others, as a stream that ended without trailers.
    const stream = (res as Http2ServerResponse).stream;
    stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  // gRPC-Web (HTTP/1.1): the status in the headers and an empty body is its trailers-only form.
  res.writeHead(200, headers);
  res.end();
}

/** The grpc-message header is percent-encoded UTF-8 for everything but printable ASCII other than "%". */
function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
