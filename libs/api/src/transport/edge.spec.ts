import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { brotliCompressSync } from 'node:zlib';
import { CHANGE_DATE, stubServices } from '#api/testing';
import { GOOD_TOKEN, h2Exchange, startTestServer, stubAuthenticator, type H2Answer, type TestServer } from '#api/testing';
import { jsonTooDeep } from './json-depth.js';

/** An authenticator that counts its calls: a request must be authenticated once, at the front. */
function countingAuthenticator() {
  let calls = 0;
  return {
    authenticator: {
      authenticate: (authorization: string | undefined) => {
        calls++;
        return stubAuthenticator.authenticate(authorization);
      },
    },
    calls: () => calls,
  };
}

const grpcStatus = (a: H2Answer) => a.trailers['grpc-status'] ?? a.headers['grpc-status'];

/** A gRPC length-prefixed message frame. */
function frame(bytes: Uint8Array, compressed = false): Buffer {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([header, bytes]);
}

/** Bytes no protobuf decoder accepts: a field header announcing a length-delimited value far longer than the body. */
const GARBLED = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);

describe('the edge: hostile input gets a client error and reaches no service', () => {
  let server: TestServer;
  const stubs = stubServices();
  const auth = countingAuthenticator();

  beforeAll(async () => {
    server = await startTestServer({ userService: stubs.userService, sessionService: stubs.sessionService, authenticator: auth.authenticator });
  });
  afterAll(async () => {
    await server.close();
  });
  let receivedBefore = 0;
  beforeEach(() => {
    receivedBefore = stubs.received.length;
  });
  const reachedNoService = () => expect(stubs.received.length).toBe(receivedBefore);

  const connectJson = (method: string, body: string, token = GOOD_TOKEN) =>
    fetch(`${server.url}/zitadel.${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  describe('text the store cannot hold', () => {
    it.each([
      ['NUL', '/v2/sessions/a%00b'],
      ['a lone surrogate', '/v2/sessions/a%ED%A0%80b'],
    ])('%s in a path id: the method NotFound (REST)', async (_what, path) => {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } });
      // %ED%A0%80 is not UTF-8: decodeURIComponent refuses it and the raw text stays (no surrogate): either way, no 5xx.
      expect(res.status).toBeLessThan(500);
      if (path.includes('%00')) {
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ code: 5, details: [{ id: 'QUERY-SFeaa' }] });
        reachedNoService();
      }
    });

    it('NUL in the id a REST path names, sent over Connect: NotFound', async () => {
      const res = await connectJson('user.v2.UserService/AddOTPEmail', '{"userId":"a\\u0000b"}');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'not_found' });
      reachedNoService();
    });

    it.each([
      ['NUL', '"ada\\u0000"'],
      ['a lone high surrogate', '"ada\\ud800"'],
      ['a lone low surrogate', '"\\udc00ada"'],
    ])('%s in a body field: 400 invalid_argument', async (_what, loginName) => {
      const res = await connectJson('session.v2.SessionService/CreateSession', `{"checks":{"user":{"loginName":${loginName}}}}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument' });
      reachedNoService();
    });

    it('a well-formed emoji is ordinary text', async () => {
      const res = await connectJson('session.v2.SessionService/GetSession', '{"sessionId":"🙂"}');
      expect(res.status).toBe(200);
    });
  });

  describe('bodies that do not decode: InvalidArgument, never Internal', () => {
    it('Connect binary', async () => {
      const res = await fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/proto', authorization: `Bearer ${GOOD_TOKEN}` },
        body: GARBLED,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument' });
      reachedNoService();
    });

    it('Connect with content-encoding br and a body that is not brotli', async () => {
      const res = await fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'br', authorization: `Bearer ${GOOD_TOKEN}` },
        body: '{"userId":"123"}',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument' });
      reachedNoService();
    });

    it('Connect with a real brotli body still works', async () => {
      const res = await fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'br', authorization: `Bearer ${GOOD_TOKEN}` },
        body: brotliCompressSync(Buffer.from('{"userId":"123"}')),
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`{"details":{"sequence":"7","changeDate":"${CHANGE_DATE}","resourceOwner":"org"}}`);
    });

    it('gRPC over h2c: grpc-status 3', async () => {
      const answer = await h2Exchange(
        server.url,
        { ':path': '/zitadel.user.v2.UserService/AddOTPEmail', 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${GOOD_TOKEN}` },
        frame(GARBLED),
      );
      expect(grpcStatus(answer)).toBe('3');
      reachedNoService();
    });

    it('gRPC with a compressed frame and no grpc-encoding: grpc-status 3', async () => {
      const answer = await h2Exchange(
        server.url,
        { ':path': '/zitadel.user.v2.UserService/AddOTPEmail', 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${GOOD_TOKEN}` },
        frame(GARBLED, true),
      );
      expect(grpcStatus(answer)).toBe('3');
    });

    it.each([
      ['no message (a frame cut inside its header)', frame(Buffer.from([0x0a, 0x01, 0x61])).subarray(0, 3)],
      ['two messages', Buffer.concat([frame(Buffer.from([0x0a, 0x01, 0x61])), frame(Buffer.from([0x0a, 0x01, 0x61]))])],
    ])('a unary gRPC call with %s: grpc-status 3, not Unimplemented', async (_what, body) => {
      const answer = await h2Exchange(
        server.url,
        { ':path': '/zitadel.user.v2.UserService/AddOTPEmail', 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${GOOD_TOKEN}` },
        body,
      );
      expect(grpcStatus(answer)).toBe('3');
      reachedNoService();
    });

    it('gRPC-Web: grpc-status 3 in the trailer frame', async () => {
      const res = await fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/grpc-web+proto', authorization: `Bearer ${GOOD_TOKEN}` },
        body: frame(GARBLED),
      });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.headers.get('grpc-status') ?? body.toString('latin1')).toMatch(/^3$|grpc-status: ?3\r/m);
      reachedNoService();
    });
  });

  describe('JSON nested deeper than 64 levels', () => {
    const deep = (n: number) => `{"userId":"123","x":${'['.repeat(n)}${']'.repeat(n)}}`;

    it('Connect JSON: 400, the body never parsed', async () => {
      const res = await connectJson('user.v2.UserService/AddOTPEmail', deep(10_000));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_argument' });
      reachedNoService();
    });

    it('REST: 400', async () => {
      const res = await fetch(`${server.url}/v2/users/123/otp_email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${GOOD_TOKEN}` },
        body: deep(10_000),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 3 });
      reachedNoService();
    });

    it('63 levels of ignored fields are fine', async () => {
      const res = await connectJson('user.v2.UserService/AddOTPEmail', deep(63));
      expect(res.status).toBe(200);
    });

    it('the scan skips brackets inside strings and escapes', () => {
      expect(jsonTooDeep(Buffer.from(`{"a":"${'['.repeat(100)}\\"["}`), 2)).toBe(false);
      expect(jsonTooDeep(Buffer.from('[[[]]]'), 2)).toBe(true);
      expect(jsonTooDeep(Buffer.from('[[]]'), 2)).toBe(false);
    });
  });

  describe('authentication before the body: a request without a valid token is answered from its headers', () => {
    it('Connect JSON: 401 unauthenticated, and the (deep) body is not looked at', async () => {
      const res = await connectJson('user.v2.UserService/AddOTPEmail', `{"x":${'['.repeat(100_000)}`, '');
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'unauthenticated' });
      reachedNoService();
    });

    it('REST: 401 with code 16 and the error detail', async () => {
      const res = await fetch(`${server.url}/v2/users/123/otp_email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' },
        body: '{',
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 16, details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'AUTH-stub01' }] });
    });

    it('gRPC over h2c: grpc-status 16, trailers-only', async () => {
      const answer = await h2Exchange(server.url, { ':path': '/zitadel.user.v2.UserService/AddOTPEmail', 'content-type': 'application/grpc', te: 'trailers' }, frame(GARBLED));
      expect(answer.headers[':status']).toBe(200);
      expect(answer.headers['grpc-status']).toBe('16');
      reachedNoService();
    });

    it('gRPC reflection and health stay open without a token', async () => {
      const answer = await h2Exchange(server.url, { ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' }, frame(new Uint8Array()));
      expect(grpcStatus(answer)).toBe('0');
    });

    it('an admitted call is authenticated once, at the front', async () => {
      const before = auth.calls();
      const res = await connectJson('user.v2.UserService/AddOTPEmail', '{"userId":"123"}');
      expect(res.status).toBe(200);
      expect(auth.calls() - before).toBe(1);
    });
  });
});
