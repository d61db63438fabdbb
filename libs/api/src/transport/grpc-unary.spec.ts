import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
import { createContextValues } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { AddOTPEmailRequestSchema, GetUserByIDRequestSchema } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { createLogger } from '#logging';
import { GOOD_TOKEN, h2Exchange, stubAuthenticator, stubServices } from '#api/testing';
import { ACCEPTED_COMPRESSION, grpcUnary } from './grpc-unary.js';
import { createRoutes, READ_MAX_BYTES, SERVED_SERVICES } from './routes.js';

/** One exchange, without what differs by the moment (the date). */
async function exchange(url: string, headers: http2.OutgoingHttpHeaders, body: Uint8Array | undefined) {
  const answer = await h2Exchange(url, { te: 'trailers', ...headers }, body);
  const { date: _date, ...rest } = answer.headers;
  return { ...answer, headers: rest };
}

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

const ADD_OTP_EMAIL = '/zitadel.user.v2.UserService/AddOTPEmail';
const addOTPEmail = (userId: string) => envelope(toBinary(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId })));
const authorized = (extra: http2.OutgoingHttpHeaders = {}) => ({ 'content-type': 'application/grpc', authorization: `Bearer ${GOOD_TOKEN}`, ...extra });

describe('unary gRPC without connect-node: the same answers as connect-node for the same routes', () => {
  const stubs = stubServices();
  /** A response above connect-es' 1 KiB threshold for compression. */
  const LONG_NAME = 'n'.repeat(3000);
  const userService = { ...stubs.userService, getUserByID: async () => ({ user: { userId: 'u1', username: LONG_NAME } }) };
  const routes = createRoutes({ userService, sessionService: stubs.sessionService, authenticator: stubAuthenticator, logger: createLogger('silent') });
  const contextValues = () => createContextValues();
  const taken: string[] = [];
  const fast = grpcUnary({ routes, services: SERVED_SERVICES, readMaxBytes: READ_MAX_BYTES, contextValues, logger: createLogger('silent') });
  const viaConnect = connectNodeAdapter({ routes, readMaxBytes: READ_MAX_BYTES, acceptCompression: [...ACCEPTED_COMPRESSION], contextValues });
  const servers: http2.Http2Server[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  let fastUrl = '';
  let connectUrl = '';

  const listen = async (handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) => {
    const server = http2.createServer(handler);
    // A call answered before its body was read (over the limit) leaves the client's upload unfinished: end such sessions at the close.
    server.on('session', (session) => sessions.add(session));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    fastUrl = await listen((req, res) => {
      if (fast.handles(req)) {
        taken.push(req.url);
        fast.serve(req, res);
      } else viaConnect(req, res);
    });
    connectUrl = await listen(viaConnect);
  });
  afterAll(async () => {
    for (const session of sessions) session.destroy();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  /** Sends the same request to both servers; the fast one must have taken it itself (or not) as said. */
  async function both(headers: http2.OutgoingHttpHeaders, body: Uint8Array | undefined, takesFastPath: boolean) {
    const before = taken.length;
    const fastAnswer = await exchange(fastUrl, headers, body);
    expect(taken.length - before).toBe(takesFastPath ? 1 : 0);
    const connectAnswer = await exchange(connectUrl, headers, body);
    return { fastAnswer, connectAnswer };
  }

  describe('the plain case: taken by the fast path, answered as connect-node answers', () => {
    it.each([
      ['success', '123', '0'],
      ['a DomainError with its ErrorDetail (FailedPrecondition)', 'not-ready', '9'],
      ['NotFound', 'missing', '5'],
      ['a plain Error (Internal, its text not shown)', 'bug', '13'],
      ['a validation failure (empty user id)', '', '3'],
    ])('%s', async (_what, userId, status) => {
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, ...authorized() }, addOTPEmail(userId), true);
      expect(fastAnswer.trailers['grpc-status'] ?? fastAnswer.headers['grpc-status']).toBe(status);
      expect(fastAnswer).toEqual(connectAnswer);
    });

    it('no token: Unauthenticated (the authentication interceptor runs)', async () => {
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, 'content-type': 'application/grpc+proto' }, addOTPEmail('123'), true);
      expect(fastAnswer.trailers['grpc-status']).toBe('16');
      expect(fastAnswer).toEqual(connectAnswer);
    });

    it('a client accepting gzip: the encoding named, a small response left uncompressed', async () => {
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, ...authorized({ 'grpc-accept-encoding': 'gzip, br' }) }, addOTPEmail('123'), true);
      expect(fastAnswer.headers['grpc-encoding']).toBe('gzip');
      expect(fastAnswer.body[0]).toBe(0);
      expect(fastAnswer).toEqual(connectAnswer);
    });

    it('a client accepting br: a response over 1 KiB compressed', async () => {
      const body = envelope(toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: 'u1' })));
      const { fastAnswer, connectAnswer } = await both({ ':path': '/zitadel.user.v2.UserService/GetUserByID', ...authorized({ 'grpc-accept-encoding': 'br' }) }, body, true);
      expect(fastAnswer.headers['grpc-encoding']).toBe('br');
      expect(fastAnswer.body[0]).toBe(1);
      expect(fastAnswer.body.length).toBeLessThan(LONG_NAME.length);
      expect(fastAnswer).toEqual(connectAnswer);
    });

    it('a query string after the path', async () => {
      const { fastAnswer, connectAnswer } = await both({ ':path': `${ADD_OTP_EMAIL}?x=1`, ...authorized() }, addOTPEmail('123'), true);
      expect(fastAnswer.trailers['grpc-status']).toBe('0');
      expect(fastAnswer).toEqual(connectAnswer);
    });
  });

  describe('bodies that are not the plain case: handed to connect with the bytes read put back', () => {
    const GARBLED = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    it.each([
      ['a message that does not decode', envelope(GARBLED)],
      ['no message', Buffer.alloc(0)],
      ['two messages', Buffer.concat([addOTPEmail('1'), addOTPEmail('2')])],
      ['half an envelope', addOTPEmail('123').subarray(0, 7)],
      ['a compressed envelope without an encoding', envelope(gzipSync(toBinary(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId: '1' }))), 1)],
    ])('%s', async (_what, body) => {
      const before = stubs.received.length;
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, ...authorized() }, body, true);
      expect(fastAnswer.trailers['grpc-status'] ?? fastAnswer.headers['grpc-status']).toBe('3');
      expect(fastAnswer).toEqual(connectAnswer);
      expect(stubs.received.length).toBe(before);
    });

    it('a message over the limit (read only so far, the rest streamed to connect): ResourceExhausted', async () => {
      const body = envelope(Buffer.alloc(READ_MAX_BYTES + 1, 0x20));
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, ...authorized() }, body, true);
      expect(fastAnswer.trailers['grpc-status'] ?? fastAnswer.headers['grpc-status']).toBe('8');
      expect(fastAnswer).toEqual(connectAnswer);
    });
  });

  describe('requests the fast path leaves to connect, on their headers', () => {
    it.each<[string, http2.OutgoingHttpHeaders]>([
      ['a deadline', { 'grpc-timeout': '5S' }],
      ['a compressed request', { 'grpc-encoding': 'gzip' }],
      ['JSON gRPC', { 'content-type': 'application/grpc+json' }],
      ['gRPC-Web', { 'content-type': 'application/grpc-web+proto' }],
    ])('%s', async (_what, extra) => {
      const body = extra['grpc-encoding'] ? envelope(gzipSync(toBinary(AddOTPEmailRequestSchema, create(AddOTPEmailRequestSchema, { userId: '1' }))), 1) : addOTPEmail('1');
      const { fastAnswer, connectAnswer } = await both({ ':path': ADD_OTP_EMAIL, ...authorized(extra) }, body, false);
      expect(fastAnswer).toEqual(connectAnswer);
    });

    it('a streaming method (health Watch is not among the API services) and an unknown path', async () => {
      expect(fast.handles({ method: 'POST', httpVersionMajor: 2, url: '/grpc.health.v1.Health/Check', headers: { 'content-type': 'application/grpc' } } as never)).toBe(false);
      expect(fast.handles({ method: 'POST', httpVersionMajor: 2, url: '/zitadel.user.v2.UserService/Nope', headers: { 'content-type': 'application/grpc' } } as never)).toBe(false);
      expect(fast.handles({ method: 'GET', httpVersionMajor: 2, url: ADD_OTP_EMAIL, headers: { 'content-type': 'application/grpc' } } as never)).toBe(false);
    });
  });

  it('the call is aborted when the client cancels the stream', async () => {
    const session = http2.connect(fastUrl);
    try {
      const before = stubs.aborted.length;
      const stream = session.request({ ':method': 'POST', ':path': ADD_OTP_EMAIL, te: 'trailers', ...authorized() });
      stream.on('error', () => undefined);
      stream.end(addOTPEmail('until-aborted'));
      await new Promise<void>((resolve) => {
        const poll = () => (stubs.received.some((r) => r.request['userId'] === 'until-aborted') ? resolve() : setImmediate(poll));
        poll();
      });
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise<void>((resolve) => {
        const poll = () => (stubs.aborted.length > before ? resolve() : setImmediate(poll));
        poll();
      });
      expect(stubs.aborted.slice(before)).toEqual(['AddOTPEmail']);
    } finally {
      session.close();
    }
  });
});
