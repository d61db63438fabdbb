import { AsyncResource } from 'node:async_hooks';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, type ContextValues } from '@connectrpc/connect';
import { compressedFlag, compressionNegotiate, type Compression, type UniversalHandler } from '@connectrpc/connect/protocol';
import { contentTypeProto, grpcStatusOk, headerAcceptEncoding, headerEncoding, headerTimeout, setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { Logger } from '#logging';
import { directUnaryInvoker } from './direct-calls.js';
import { responseSignal } from './response-signal.js';
import type { Routes } from './routes.js';

/** What connect-node's adapter accepts for compression when told nothing; the fast path answers alike. */
export const ACCEPTED_COMPRESSION: readonly Compression[] = [compressionGzip, compressionBrotli];
/** connect-es' default: smaller responses go uncompressed even when the client accepts compression. */
const COMPRESS_MIN_BYTES = 1024;
/** The gRPC content types of a binary (protobuf) call; JSON gRPC and gRPC-Web are connect's. */
const BINARY_GRPC = new Set(['application/grpc', 'application/grpc+proto']);
/** connect-es names its headers capitalised; Node's request headers are lower case. */
const ENCODING = headerEncoding.toLowerCase();
const ACCEPT_ENCODING = headerAcceptEncoding.toLowerCase();
const TIMEOUT = headerTimeout.toLowerCase();
/** The envelope's header: one flag byte and the message length (big-endian). */
const ENVELOPE_HEADER_BYTES = 5;

export interface GrpcUnaryOptions {
  /** The same routes (and so the same implementations and interceptors) connect serves. */
  routes: Routes;
  /** The services whose unary methods take the fast path. */
  services: readonly DescService[];
  /** The largest request message, as connect's router is told (the fallback enforces it). */
  readMaxBytes: number;
  /** The call's context values, as connect's adapter gets them (the Caller the front gate found). */
  contextValues: (req: Http2ServerRequest) => ContextValues;
  logger: Logger;
}

export interface GrpcUnary {
  /** Whether the request is a plain binary gRPC call of a served unary method (decided on its headers alone). */
  handles(req: Http2ServerRequest): boolean;
  /** Answers a request `handles` took. */
  serve(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

/**
 * Unary gRPC calls over HTTP/2 without connect-node's request pipeline. connect-es turns every
 * call, unary or not, into a chain of async iterables (the body, the envelopes, the messages,
 * the response) with a handler context of linked abort signals, and aborts that context when
 * the call ends, which makes a DOMException with a stack trace each time: measured on a trivial
 * method, its handler costs ~1,000 µs of CPU per call where Node's HTTP/2 request and response
 * themselves cost ~170 µs (docs/benchmarks.md), and over the whole AddOTPEmail a gRPC call cost
 * the server twice a REST one.
 *
 * The fast path takes only the plain case, decided on the headers: POST over HTTP/2, content
 * type `application/grpc` or `application/grpc+proto`, no request compression, no deadline,
 * the path of a served unary method. It reads the one envelope, decodes the message, runs the
 * method through the same implementation and interceptors as every other protocol
 * (direct-calls), and writes the envelope and the trailers with connect-es' own pieces (content
 * type, compression negotiation, `setTrailerStatus` for errors). Whatever else the body turns
 * out to be (not exactly one uncompressed envelope, too large, a message that does not decode)
 * goes to connect's own handler for that method with the bytes already read put back first,
 * so every malformed call is answered exactly as before.
 */
export function grpcUnary(options: GrpcUnaryOptions): GrpcUnary {
  const invoke = directUnaryInvoker(options.routes);
  const methods = new Map<string, DescMethod>();
  for (const service of options.services) {
    for (const method of service.methods) if (method.methodKind === 'unary') methods.set(`/${service.typeName}/${method.name}`, method);
  }
  const router = createConnectRouter({ acceptCompression: [...ACCEPTED_COMPRESSION], readMaxBytes: options.readMaxBytes });
  options.routes(router);
  const fallbacks = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) if (methods.has(handler.requestPath)) fallbacks.set(handler.requestPath, handler);
  const { readMaxBytes, logger } = options;
  const accepting = [...ACCEPTED_COMPRESSION];

  /** connect's handler for the method, reading `prefix` first and then whatever the stream still holds. */
  const fallback = (req: Http2ServerRequest, res: Http2ServerResponse, path: string, prefix: readonly Buffer[]) => {
    const handler = fallbacks.get(path)!;
    const universal = { ...universalRequestFromNodeRequest(req, res, undefined, options.contextValues(req)), body: replay(prefix, req) };
    handler(universal)
      .then((answer) => universalResponseToNodeResponse(answer, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logger.error({ err: reason, procedure: path.slice(1) }, 'gRPC handler failed');
      });
  };

  const answer = async (req: Http2ServerRequest, res: Http2ServerResponse, method: DescMethod, message: MessageShape<DescMessage>, response: Compression | null) => {
    const header: Record<string, string> = { 'content-type': contentTypeProto };
    if (response) header[ENCODING] = response.name;
    const trailer = new Headers({ 'grpc-status': grpcStatusOk });
    let envelope: Buffer | undefined;
    try {
      const calling = invoke(method, message, {
        header: webHeaders(req),
        contextValues: options.contextValues(req),
        signal: responseSignal(res),
        url: `http://${req.authority}${req.url}`,
        protocolName: 'grpc',
      });
      if (!calling) throw new ConnectError(`${method.parent.typeName}/${method.name} is not implemented`, Code.Unimplemented);
      const called = await calling;
      called.header.forEach((value, key) => (header[key] = value));
      called.trailer.forEach((value, key) => trailer.set(key, value));
      let bytes: Uint8Array = toBinary(method.output, called.message);
      let flags = 0;
      if (response && bytes.byteLength >= COMPRESS_MIN_BYTES) {
        bytes = await response.compress(bytes);
        flags = compressedFlag;
      }
      envelope = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + bytes.byteLength);
      envelope[0] = flags;
      envelope.writeUInt32BE(bytes.byteLength, 1);
      envelope.set(bytes, ENVELOPE_HEADER_BYTES);
    } catch (err) {
      // As connect-es answers: a ConnectError as it is, anything else an internal error.
      setTrailerStatus(trailer, err instanceof ConnectError ? err : new ConnectError('internal error', Code.Internal, undefined, undefined, err));
    }
    // The client has gone: nothing can be written (connect-es would fail the write and log nothing).
    if (res.stream.destroyed || res.stream.closed) return;
    res.writeHead(200, header);
    const trailers: Record<string, string> = {};
    trailer.forEach((value, key) => (trailers[key] = value));
    res.addTrailers(trailers);
    if (envelope) res.end(envelope);
    else res.end();
  };

  return {
    handles(req) {
      if (req.method !== 'POST' || req.httpVersionMajor !== 2) return false;
      const { headers } = req;
      const type = headers['content-type'];
      if (type === undefined || !BINARY_GRPC.has(type)) return false;
      if (headers[TIMEOUT] !== undefined) return false;
      const encoding = headers[ENCODING];
      if (encoding !== undefined && encoding !== 'identity') return false;
      return methods.has(pathOf(req));
    },

    serve(req, res) {
      const path = pathOf(req);
      const method = methods.get(path)!;
      const accepted = req.headers[ACCEPT_ENCODING];
      const { response } = compressionNegotiate(accepting, null, typeof accepted === 'string' ? accepted : null, headerAcceptEncoding);
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        req.off('data', onData);
        req.off('end', onEnd);
      };
      // Bound to the request's async context (the access log's record, the request id on log
      // lines): the stream's events come from outside it.
      const onData = AsyncResource.bind((chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.byteLength;
        // More than one largest envelope: not the plain case, and not to be held in memory.
        if (size > ENVELOPE_HEADER_BYTES + readMaxBytes) {
          done();
          req.pause();
          fallback(req, res, path, chunks);
        }
      });
      const onEnd = AsyncResource.bind(() => {
        done();
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        if (!isOneEnvelope(body)) {
          fallback(req, res, path, [body]);
          return;
        }
        let message: MessageShape<DescMessage>;
        try {
          message = fromBinary(method.input, body.subarray(ENVELOPE_HEADER_BYTES));
        } catch {
          fallback(req, res, path, [body]);
          return;
        }
        answer(req, res, method, message, response).catch((err: unknown) => {
          logger.error({ err, procedure: path.slice(1) }, 'gRPC call failed');
          if (!res.headersSent && !res.stream.closed) res.stream.close(http2Internal);
        });
      });
      // A stream the client resets before its end needs no answer; 'close' frees the listeners.
      req.on('data', onData);
      req.on('end', onEnd);
      req.once('close', done);
    },
  };
}

/** NGHTTP2_INTERNAL_ERROR: the stream is reset when even the error could not be written. */
const http2Internal = 2;

function pathOf(req: Http2ServerRequest): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Exactly one uncompressed envelope and nothing after it. */
function isOneEnvelope(body: Buffer): boolean {
  return body.byteLength >= ENVELOPE_HEADER_BYTES && body[0] === 0 && body.readUInt32BE(1) === body.byteLength - ENVELOPE_HEADER_BYTES;
}

/** The request's headers as the interceptors read them (connect-node's conversion: pseudo-headers left out). */
function webHeaders(req: Http2ServerRequest): Headers {
  const header = new Headers();
  const { headers } = req;
  for (const key in headers) {
    if (key.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) header.append(key, v);
    else header.append(key, String(value));
  }
  return header;
}

/** The bytes already read, then the rest of the request. */
async function* replay(prefix: readonly Buffer[], req: Http2ServerRequest): AsyncIterable<Uint8Array> {
  for (const chunk of prefix) yield chunk;
  if (!req.readableEnded) for await (const chunk of req) yield chunk as Buffer;
}
