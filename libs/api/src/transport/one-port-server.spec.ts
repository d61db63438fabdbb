import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { Code, ConnectError } from '@connectrpc/connect';
import { createServerTransport } from '@zitadel/client/node';
import { createUserServiceClient } from '@zitadel/client/v2';
import { eventually } from '#test-kit';
import { stubServices } from '#api/testing';
import { deferred, GOOD_TOKEN, startTestServer, stubAuthenticator, type TestServer } from '#api/testing';

/** Sends raw bytes in pieces (with pauses between them) and collects what comes back until the server closes or `until` says so. */
function rawExchange(port: number, pieces: Buffer[], until: (received: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (until(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        // The pause is the behaviour under test: the server must wait for the rest of the
        // first bytes instead of deciding on a partial preface.
        await new Promise((r) => setTimeout(r, 30));
      }
    });
  });
}

describe('the one-port server', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('without an Authenticator in the container every call is Unauthenticated (REST 401 code 16, gRPC 16); health stays open', async () => {
    server = await startTestServer({});
    const rest = await fetch(`${server.url}/v2/users/123/otp_email`, { method: 'POST', headers: { authorization: 'Bearer x' }, body: '{}' });
    expect(rest.status).toBe(401);
    expect(await rest.json()).toMatchObject({ code: 16 });
    const err = await createUserServiceClient(createServerTransport('x', { baseUrl: server.url }))
      .addOTPEmail({ userId: '123' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('recognises HTTP/1.1 and the HTTP/2 preface even when the first bytes arrive in pieces', async () => {
    server = await startTestServer({ userService: stubServices().userService, authenticator: stubAuthenticator });
    const port = server.port;
    const request = `OST /v2/users/123/otp_email HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GOOD_TOKEN}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
    const http1 = await rawExchange(port, [Buffer.from('P'), Buffer.from(request)], () => false);
    expect(http1.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(http1.toString()).toContain('"sequence":"7"');

    const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const http2 = await rawExchange(
      port,
      [Buffer.from('PRI * HTTP/2.0\r\n'), Buffer.from('\r\nSM\r\n\r\n'), emptySettings],
      (received) => received.length >= 9,
    );
    // The server's first frame: SETTINGS (type 4) on stream 0.
    expect(http2[3]).toBe(4);
    expect(http2.readUInt32BE(5) & 0x7fffffff).toBe(0);
  });

  it('closes gracefully: no new connections, in-flight REST and gRPC calls finish, idle connections do not hold it up', async () => {
    const hold = deferred();
    const stubs = stubServices(hold.promise);
    server = await startTestServer({ userService: stubs.userService, authenticator: stubAuthenticator });
    const { url, port } = server;

    // An idle keep-alive connection (fetch pools it) and an idle HTTP/2 session.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const grpc = createUserServiceClient(createServerTransport(GOOD_TOKEN, { baseUrl: url }));
    await grpc.addOTPEmail({ userId: '123' });

    const rest = fetch(`${url}/v2/users/slow/otp_email`, { method: 'POST', headers: { authorization: `Bearer ${GOOD_TOKEN}` }, body: '{}' });
    const rpc = grpc.addOTPEmail({ userId: 'slow' });
    await eventually(() => expect(stubs.received.filter((r) => r.request.userId === 'slow')).toHaveLength(2));

    const started = Date.now();
    const closing = server.close();
    server = undefined;
    // close() stops listening before it returns: the very next connection is refused.
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    hold.resolve();
    const restRes = await rest;
    expect(restRes.status).toBe(200);
    expect(restRes.headers.get('connection')).toBe('close');
    expect((await rpc).details?.sequence).toBe(7n);
    await closing;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
