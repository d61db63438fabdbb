import type { ConnectRouter } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from '@connectrpc/connect/protocol';

/**
 * connect-es answers a request body it cannot decode (truncated or garbled protobuf, a
 * compressed body that does not decompress, a compressed gRPC frame without an encoding) with
 * Internal, as grpc-go does. These are the client's mistakes, so this service answers them
 * with InvalidArgument (Connect: 400 `invalid_argument`, gRPC and gRPC-Web: grpc-status 3):
 * a 5xx must mean the server failed. connect-es decodes the body before any interceptor runs
 * and catches the error itself, so the answer is corrected on its way out of each handler.
 * Only errors with these texts (connect-es's, for decoding) and the code Internal are changed.
 */
const CLIENT_FAULTS = [/^parse binary: /, /^decompression failed$/, /^received compressed envelope, but do not know how to decompress$/, /^invalid envelope/];

/**
 * connect-es answers a unary gRPC call whose request stream holds no message, or more than
 * one, with Unimplemented, which would tell the client the method is not served. The method
 * is served; the client sent a malformed request, so these become InvalidArgument too.
 */
const MISCODED_AS_UNIMPLEMENTED = [/^protocol error: missing input message for unary method$/, /^protocol error: received extra input message for unary method$/];

export function isClientFault(message: string): boolean {
  return CLIENT_FAULTS.some((re) => re.test(message));
}

const INTERNAL = '13';
const UNIMPLEMENTED = '12';
const INVALID_ARGUMENT = '3';

/** Wraps every handler of the router (call after all services are registered). */
export function answerDecodingErrorsAsInvalidArgument(router: ConnectRouter): void {
  const handlers = router.handlers as UniversalHandler[];
  for (let i = 0; i < handlers.length; i++) handlers[i] = wrap(handlers[i]!);
}

function wrap(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const contentType = req.header.get('content-type') ?? '';
    if (/^application\/grpc-web/.test(contentType)) return res.body ? { ...res, body: grpcWebTrailers(res.body) } : res;
    if (/^application\/grpc/.test(contentType)) {
      if (!res.trailer) return res;
      fixGrpcTrailer(res.trailer);
      return res.body ? { ...res, body: afterBody(res.body, () => fixGrpcTrailer(res.trailer!)) } : res;
    }
    // Connect unary: the error is the whole (small, uncompressed) JSON body of a 500.
    if (res.status === 500 && res.body && !res.header?.has('content-encoding')) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const fixed = connectUnary(body);
      if (!fixed) return { ...res, body: once(body) };
      res.header?.set('content-length', String(fixed.byteLength));
      return { ...res, status: 400, body: once(fixed) };
    }
    return res;
  };
  return Object.assign(wrapped, handler);
}

function fixGrpcTrailer(trailer: Headers): void {
  const status = trailer.get('grpc-status');
  if (status !== INTERNAL && status !== UNIMPLEMENTED) return;
  const message = safeDecode(trailer.get('grpc-message') ?? '');
  const faults = status === INTERNAL ? CLIENT_FAULTS : MISCODED_AS_UNIMPLEMENTED;
  if (faults.some((re) => re.test(message))) trailer.set('grpc-status', INVALID_ARGUMENT);
}

function connectUnary(body: Buffer): Buffer | undefined {
  try {
    const error = JSON.parse(body.toString('utf8')) as { code?: string; message?: string };
    if (error.code !== 'internal' || !isClientFault(error.message ?? '')) return undefined;
    return Buffer.from(JSON.stringify({ ...error, code: 'invalid_argument' }));
  } catch {
    return undefined;
  }
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function* afterBody(body: AsyncIterable<Uint8Array>, done: () => void): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } finally {
    done();
  }
}

/** gRPC-Web carries its trailers in the body's last frame (flag 0x80). */
async function* grpcWebTrailers(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield rewriteTrailerFrame(chunk);
}

function rewriteTrailerFrame(chunk: Uint8Array): Uint8Array {
  // The trailer frame is the last one; whole frames only (connect-es joins each envelope).
  let offset = 0;
  while (offset + 5 <= chunk.length) {
    const flags = chunk[offset]!;
    const length = Buffer.from(chunk.buffer, chunk.byteOffset + offset + 1, 4).readUInt32BE(0);
    const end = offset + 5 + length;
    if (end > chunk.length) return chunk;
    if (flags & 0x80) {
      const text = Buffer.from(chunk.subarray(offset + 5, end)).toString('latin1');
      const status = /^grpc-status: *(\d+)\r?$/im.exec(text)?.[1];
      const message = safeDecode(/^grpc-message: *(.*?)\r?$/im.exec(text)?.[1] ?? '');
      if (status !== INTERNAL || !isClientFault(message)) return chunk;
      const fixed = Buffer.from(text.replace(/^grpc-status: *13/im, `grpc-status: ${INVALID_ARGUMENT}`), 'latin1');
      const header = Buffer.alloc(5);
      header[0] = flags;
      header.writeUInt32BE(fixed.length, 1);
      return Buffer.concat([chunk.subarray(0, offset), header, fixed, chunk.subarray(end)]);
    }
    offset = end;
  }
  return chunk;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
