import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import { fromBinary } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { createServerTransport } from '@zitadel/client/node';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { createClientTransport } from '@zitadel/client/web';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { CHANGE_DATE, stubServices } from '#api/testing';
import { GOOD_TOKEN, STUB_CALLER, startTestServer, stubAuthenticator, type TestServer } from '#api/testing';

describe('gRPC, gRPC-Web and Connect on the one port, with test doubles for the Authenticator and the services', () => {
  let server: TestServer;
  const stubs = stubServices();

  beforeAll(async () => {
    server = await startTestServer({ userService: stubs.userService, sessionService: stubs.sessionService, authenticator: stubAuthenticator });
  });
  afterAll(async () => {
    await server.close();
  });

  const lastReceived = () => stubs.received[stubs.received.length - 1]!;

  async function expectConnectError(call: Promise<unknown>, code: Code): Promise<ConnectError> {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(code);
    return err as ConnectError;
  }

  describe('Connect JSON over plain fetch (HTTP/1.1, no Connect-Protocol-Version header), as the OpenAPI SDKs send it', () => {
    const post = (userId: string, extra = '') =>
      fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${GOOD_TOKEN}` },
        body: `{"userId":"${userId}"${extra}}`,
      });

    it('answers 200 with the protojson body (unknown fields ignored)', async () => {
      const res = await post('123', ',"notAField":true');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`{"details":{"sequence":"7","changeDate":"${CHANGE_DATE}","resourceOwner":"org"}}`);
      expect(lastReceived()).toMatchObject({ method: 'AddOTPEmail', request: { userId: '123' }, caller: STUB_CALLER });
    });

    it('a DomainError is a Connect error JSON with the code name and the ErrorDetail', async () => {
      const res = await post('not-ready');
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string; details: { type: string; value: string }[] };
      expect(body.code).toBe('failed_precondition');
      expect(body.message).toBe("Multifactor OTP (OneTimePassword) isn't ready (COMMAND-KLJ2d)");
      expect(body.details).toHaveLength(1);
      expect(body.details[0]!.type).toBe('zitadel.v1.ErrorDetail');
      const detail = fromBinary(ErrorDetailSchema, Buffer.from(body.details[0]!.value, 'base64'));
      expect(detail).toMatchObject({ id: 'COMMAND-KLJ2d', message: "Multifactor OTP (OneTimePassword) isn't ready" });

      const exists = await post('exists');
      expect(exists.status).toBe(409);
      expect(((await exists.json()) as { code: string }).code).toBe('already_exists');
    });

    it('without a token: unauthenticated', async () => {
      const res = await fetch(`${server.url}/zitadel.user.v2.UserService/AddOTPEmail`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"userId":"123"}',
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('unauthenticated');
    });
  });

  describe('gRPC over h2c with @zitadel/client/node (connect-node gRPC transport)', () => {
    const client = () => createUserServiceClient(createServerTransport(GOOD_TOKEN, { baseUrl: server.url }));

    it('calls succeed and carry the caller', async () => {
      const res = await client().addOTPEmail({ userId: '123' });
      expect(res.details?.sequence).toBe(7n);
      expect(res.details?.resourceOwner).toBe('org');
      expect(timestampDate(res.details!.changeDate!).toISOString()).toBe(CHANGE_DATE);
      expect(lastReceived()).toMatchObject({ request: { userId: '123' }, caller: STUB_CALLER });

      const sessions = createSessionServiceClient(createServerTransport(GOOD_TOKEN, { baseUrl: server.url }));
      expect((await sessions.createSession({})).sessionId).toBe('session-1');
    });

    it('a DomainError arrives as a ConnectError with its code, message and ErrorDetail', async () => {
      const err = await expectConnectError(client().addOTPEmail({ userId: 'not-ready' }), Code.FailedPrecondition);
      expect(err.rawMessage).toBe("Multifactor OTP (OneTimePassword) isn't ready (COMMAND-KLJ2d)");
      expect(err.findDetails(ErrorDetailSchema)).toEqual([expect.objectContaining({ id: 'COMMAND-KLJ2d', message: "Multifactor OTP (OneTimePassword) isn't ready" })]);
      const exists = await expectConnectError(client().addOTPEmail({ userId: 'exists' }), Code.AlreadyExists);
      expect(exists.findDetails(ErrorDetailSchema)[0]?.id).toBe('COMMAND-MKL2s');
    });

    it('validation → InvalidArgument without details; bad token → Unauthenticated; left out → Unimplemented; bug → Internal', async () => {
      const invalid = await expectConnectError(client().addOTPEmail({ userId: '' }), Code.InvalidArgument);
      expect(invalid.rawMessage).toBe('invalid AddOTPEmailRequest.UserId: value length must be between 1 and 200 runes, inclusive');
      expect(invalid.details).toHaveLength(0);
      const bad = createUserServiceClient(createServerTransport('wrong', { baseUrl: server.url }));
      await expectConnectError(bad.addOTPEmail({ userId: '123' }), Code.Unauthenticated);
      await expectConnectError(client().removeOTPEmail({ userId: '123' }), Code.Unimplemented);
      const bug = await expectConnectError(client().addOTPEmail({ userId: 'bug' }), Code.Internal);
      expect(bug.rawMessage).toBe('Internal error');
    });
  });

  describe('gRPC-Web with @zitadel/client/web (fetch, HTTP/1.1)', () => {
    const client = () => createUserServiceClient(createClientTransport(GOOD_TOKEN, { baseUrl: server.url }));

    it('calls succeed', async () => {
      const res = await client().addOTPEmail({ userId: '123' });
      expect(res.details?.sequence).toBe(7n);
      expect(lastReceived().caller).toEqual(STUB_CALLER);
    });

    it('a DomainError arrives as a ConnectError with its code and ErrorDetail', async () => {
      const err = await expectConnectError(client().addOTPEmail({ userId: 'missing' }), Code.NotFound);
      expect(err.rawMessage).toBe('Not found (COMMAND-4g3xq)');
      expect(err.findDetails(ErrorDetailSchema)[0]?.id).toBe('COMMAND-4g3xq');
    });
  });

  it('Connect binary over h2c works too', async () => {
    const transport = createConnectTransport({ baseUrl: server.url, httpVersion: '2', useBinaryFormat: true });
    const client = createClient(UserService, transport);
    const res = await client.addOTPEmail({ userId: '123' }, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } });
    expect(res.details?.sequence).toBe(7n);
  });

  it('HTTP/1.1 /healthz and h2c gRPC on the same port, in the same test', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const res = await createUserServiceClient(createServerTransport(GOOD_TOKEN, { baseUrl: server.url })).addOTPEmail({ userId: '123' });
    expect(res.details?.sequence).toBe(7n);
    const again = await fetch(`${server.url}/healthz`);
    expect(again.status).toBe(200);
  });

  it('REST answers over h2c too (the gateway is the fallback of the HTTP/2 side)', async () => {
    const session = http2.connect(server.url);
    try {
      const exchange = (method: string, path: string, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const stream = session.request({ ':method': method, ':path': path, authorization: `Bearer ${GOOD_TOKEN}`, 'content-type': 'application/json' });
          let status = 0;
          let text = '';
          stream.on('response', (headers) => (status = Number(headers[':status'])));
          stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
          stream.on('end', () => resolve({ status, text }));
          stream.on('error', reject);
          stream.end(body);
        });
      const ok = await exchange('POST', '/v2/users/123/otp_email', '{}');
      expect(ok.status).toBe(200);
      expect(ok.text).toBe(`{"details":{"sequence":"7","changeDate":"${CHANGE_DATE}","resourceOwner":"org"}}`);
      const failed = await exchange('POST', '/v2/users/exists/otp_email', '{}');
      expect(failed.status).toBe(409);
      expect(JSON.parse(failed.text)).toMatchObject({ code: 6, details: [{ id: 'COMMAND-MKL2s' }] });
      const nowhere = await exchange('GET', '/elsewhere');
      expect(nowhere.status).toBe(404);
      expect(JSON.parse(nowhere.text)).toEqual({ code: 5, message: 'Not Found' });
    } finally {
      session.close();
    }
  });
});
