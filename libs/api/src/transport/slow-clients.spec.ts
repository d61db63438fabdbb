import { afterEach, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import net from 'node:net';
import { stubServices } from '#api/testing';
import { GOOD_TOKEN, startTestServer, stubAuthenticator, type TestServer } from '#api/testing';

/** Opens a connection, writes `head`, then drips one byte every `dripMs` until the server closes it; resolves with the time it took. */
function drip(port: number, head: string, dripMs: number, maxMs: number): Promise<{ closedAfterMs: number; received: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => socket.destroy(new Error(`still open after ${maxMs} ms`)), maxMs);
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => socket.write('a'), dripMs);
    });
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, received });
    });
    socket.on('error', (err) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE') return;
      reject(err);
    });
  });
}

describe('slow and numerous clients', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = (limits: { headersTimeoutMs?: number; requestTimeoutMs?: number; maxConnections?: number }) => {
    const stubs = stubServices();
    return startTestServer({ userService: stubs.userService, sessionService: stubs.sessionService, authenticator: stubAuthenticator, limits });
  };

  it('HTTP/1.1: headers that drip in are cut off after the headers timeout', async () => {
    server = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const { closedAfterMs } = await drip(server.port, 'POST /v2/users/123/otp_email HTTP/1.1\r\nHost: x\r\nX-Slow: ', 100, 10_000);
    expect(closedAfterMs).toBeLessThan(4_000);
  });

  it('HTTP/1.1: a body that drips in is cut off after the request timeout', async () => {
    server = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const head = `POST /v2/users/123/otp_email HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GOOD_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
    const { closedAfterMs } = await drip(server.port, head, 100, 10_000);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it('HTTP/2: a stream whose body drips in is cancelled after the request timeout', async () => {
    server = await start({ requestTimeoutMs: 1_500 });
    const session = http2.connect(server.url);
    try {
      const started = Date.now();
      const stream = session.request({
        ':method': 'POST',
        ':path': '/v2/users/123/otp_email',
        authorization: `Bearer ${GOOD_TOKEN}`,
        'content-type': 'application/json',
      });
      stream.write('{');
      const dripping = setInterval(() => stream.write(' '), 100);
      await new Promise<void>((resolve) => {
        stream.on('close', () => resolve());
        stream.on('error', () => undefined);
        stream.resume();
      });
      clearInterval(dripping);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });

  it('past the connection cap a new connection is closed at once; the ones open keep working', async () => {
    server = await start({ maxConnections: 2 });
    const open = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(server!.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    // The server counts a connection once it has accepted it: wait until both are counted.
    const front = (server.server as unknown as { front: net.Server }).front;
    for (;;) {
      const count = await new Promise<number>((resolve) => front.getConnections((_e, n) => resolve(n)));
      if (count === 2) break;
      await new Promise((r) => setImmediate(r));
    }
    const third = await new Promise<string>((resolve) => {
      const s = net.connect(server!.port, '127.0.0.1');
      s.on('close', () => resolve('closed'));
      s.on('error', () => undefined);
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', () => resolve('answered'));
    });
    expect(third).toBe('closed');
    const first = open[0]!;
    const answer = await new Promise<string>((resolve) => {
      first.once('data', (c: Buffer) => resolve(c.toString('latin1')));
      first.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    for (const s of open) s.destroy();
  });
});
