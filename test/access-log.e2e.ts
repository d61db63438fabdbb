import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { Health } from '#api/testing';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { capturingLogger } from '#logging/testing';
import { restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

describe.each(storeKinds())('access log, request ids and request metrics (%s)', (kind) => {
  let t: TestServer;
  let log: ReturnType<typeof capturingLogger>;
  const accessLines = () => log.lines.filter((l) => l.access === true);
  const accessLineOf = async (requestId: string) => {
    // The line is written when the response closes, which may come a moment after the client has the body.
    for (let i = 0; i < 100; i++) {
      const line = accessLines().find((l) => l.requestId === requestId);
      if (line) return line;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`no access line for ${requestId}: ${JSON.stringify(accessLines())}`);
  };

  beforeAll(async () => {
    log = capturingLogger();
    t = await startTestServer(kind, {}, log.logger);
  });
  afterAll(() => t?.stop());

  it('REST: honours x-request-id, echoes it, logs one line, and puts it in the events as the correlation id', async () => {
    const res = await fetch(`${t.url}/v2/users/human`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', 'x-request-id': 'req-42.a:b' },
      body: JSON.stringify({ profile: { givenName: 'Ada', familyName: 'L' }, email: { email: 'ada@example.com', isVerified: true } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-42.a:b');
    const { userId } = (await res.json()) as { userId: string };

    const line = await accessLineOf('req-42.a:b');
    expect(line).toMatchObject({
      level: 'info',
      protocol: 'rest',
      httpMethod: 'POST',
      path: '/v2/users/human',
      procedure: 'zitadel.user.v2.UserService/AddHumanUser',
      status: 200,
      grpcCode: 'OK',
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.callerId).toMatch(/^\d+$/);
    expect(log.raw.some((raw) => raw.includes(t.adminToken))).toBe(false);

    const events = await t.server.app.get<EventStore>(EVENT_STORE).readStream(`user-${userId}`);
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((e) => e.metadata.correlationId)).toEqual(events.map(() => 'req-42.a:b'));
  });

  it('Connect: a traceparent gives the trace id; a failure logs its gRPC code and error id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${t.url}/zitadel.user.v2.UserService/GetUserByID`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ userId: '999999999' }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe(traceId);
    const line = await accessLineOf(traceId);
    expect(line).toMatchObject({ protocol: 'connect', procedure: 'zitadel.user.v2.UserService/GetUserByID', status: 404, grpcCode: 'NOT_FOUND' });
    expect(typeof line.errorId).toBe('string');
  });

  it('a client id that is too long or not plain is replaced by a new one', async () => {
    for (const bad of ['x'.repeat(129), 'has space', 'new\nline']) {
      const res = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': bad } }).catch(() => undefined);
      if (!res) continue; // fetch itself refuses a header with a line break
      const id = res.headers.get('x-request-id')!;
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await accessLineOf(id)).toMatchObject({ protocol: 'http', path: '/healthz', status: 200 });
    }
  });

  it('gRPC (h2c) and gRPC-Web (HTTP/1.1) are logged and echo the request id', async () => {
    const grpc = createClient(Health, createGrpcTransport({ baseUrl: t.url }));
    let echoed: string | null = null;
    await grpc.check({ service: '' }, { headers: { 'x-request-id': 'grpc-1' }, onHeader: (h) => (echoed = h.get('x-request-id')) });
    expect(echoed).toBe('grpc-1');
    expect(await accessLineOf('grpc-1')).toMatchObject({ protocol: 'grpc', procedure: 'grpc.health.v1.Health/Check', grpcCode: 'OK' });

    const web = createClient(Health, createGrpcWebTransport({ baseUrl: t.url, httpVersion: '1.1' }));
    await web.check({ service: '' }, { headers: { 'x-request-id': 'web-1' } });
    expect(await accessLineOf('web-1')).toMatchObject({ protocol: 'grpc-web', procedure: 'grpc.health.v1.Health/Check', grpcCode: 'OK' });
  });

  it('a gRPC call of the API (h2c): its procedure, code, caller and error id in the line and its metric', async () => {
    const users = createClient(UserService, createGrpcTransport({ baseUrl: t.url }));
    const call = users.getUserByID({ userId: '999999999' }, { headers: { 'x-request-id': 'grpc-api-1', authorization: `Bearer ${t.adminToken}` } });
    await expect(call).rejects.toMatchObject({ code: Code.NotFound });
    const line = await accessLineOf('grpc-api-1');
    expect(line).toMatchObject({ protocol: 'grpc', procedure: 'zitadel.user.v2.UserService/GetUserByID', status: 200, grpcCode: 'NOT_FOUND' });
    expect(line.callerId).toMatch(/^\d+$/);
    expect(typeof line.errorId).toBe('string');
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/^api_requests_total\{service="zitadel.user.v2.UserService",method="GetUserByID",protocol="grpc",code="NOT_FOUND"\} \d+$/m);
  });

  it('counts requests by service, method, protocol and code; every unknown path is one "unknown" series', async () => {
    for (const path of ['/nope/a', '/nope/b', '/zitadel.user.v2.UserService/NoSuchMethod']) await fetch(`${t.url}${path}`, { method: 'POST' });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/^api_requests_total\{service="zitadel.user.v2.UserService",method="AddHumanUser",protocol="rest",code="OK"\} \d+$/m);
    expect(text).toMatch(/^api_requests_total\{service="zitadel.user.v2.UserService",method="GetUserByID",protocol="connect",code="NOT_FOUND"\} \d+$/m);
    expect(text).toMatch(/^api_requests_total\{service="grpc.health.v1.Health",method="Check",protocol="grpc",code="OK"\} \d+$/m);
    expect(text).toMatch(/^api_requests_total\{service="http",method="GET \/healthz",protocol="http",code="200"\} \d+$/m);
    expect(text).not.toMatch(/nope|NoSuchMethod/);
    expect(text).toMatch(/^api_request_duration_seconds_bucket\{le="0.005",service="zitadel.user.v2.UserService",method="AddHumanUser",protocol="rest"\} \d+$/m);
  });
});
