import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from '#logging';

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface OnePortServerOptions {
  /** The HTTP/1.1 server (Nest's, serving Express). It is never listening itself. */
  http1: http.Server;
  /** The handler for HTTP/2 without TLS (h2c, prior knowledge): gRPC, Connect and gRPC-Web. */
  http2Handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
  logger: Logger;
  /** A connection that sends nothing for this long is closed (default 30 s). */
  firstBytesTimeoutMs?: number;
  /** Limits on slow and numerous clients (defaults: HTTP_LIMIT_DEFAULTS). */
  limits?: Partial<HttpLimits>;
  /** Wraps the handling of every request of both HTTP versions (the access log): must call `next` once. */
  observe?: (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse, next: () => void) => void;
}

/**
 * What a slow or greedy client may hold. A request's headers must arrive within
 * headersTimeoutMs and the whole request (headers and body) within requestTimeoutMs, on both
 * HTTP versions (for HTTP/2 per stream, so a long answer such as a health Watch is not cut);
 * beyond maxConnections open connections a new one is closed at once.
 */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 1_000 };

/**
 * One TCP port for both HTTP versions. Node's http2 server does not accept HTTP/1.1 over
 * plain TCP (allowHTTP1 needs TLS/ALPN), so a front net server peeks at the first bytes of
 * each connection: the HTTP/2 preface sends it to an http2 server, anything else to the
 * HTTP/1.1 server. The bytes peeked are put back with `unshift` (and read, not listened to
 * with 'data', so the stream never starts flowing before its owner takes it).
 */
export class OnePortServer {
  private readonly front: net.Server;
  private readonly h2: http2.Http2Server;
  private readonly h1: http.Server;
  private readonly logger: Logger;
  private readonly firstBytesTimeoutMs: number;
  private readonly sockets = new Set<Socket>();
  private readonly peeking = new Set<Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly inFlight = new Set<http.ServerResponse>();
  private closing: Promise<void> | undefined;
  readonly limits: HttpLimits;
  /** Connections accepted while the app is still starting (see `holdConnections`). */
  private waiting: Socket[] | undefined;

  constructor(options: OnePortServerOptions) {
    this.h1 = options.http1;
    this.logger = options.logger;
    this.limits = { ...HTTP_LIMIT_DEFAULTS, ...options.limits };
    this.firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? Math.min(30_000, this.limits.headersTimeoutMs);
    this.h1.headersTimeout = this.limits.headersTimeoutMs;
    this.h1.requestTimeout = this.limits.requestTimeoutMs;
    // Node checks those two every connectionsCheckingInterval (30 s by default): check often
    // enough that the limits mean what they say. Read when tracking starts ('listening' below).
    (this.h1 as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1_000, this.limits.headersTimeoutMs);
    const observe = options.observe;
    this.h2 = http2.createServer({}, (req, res) => {
      this.limitRequestTime(req);
      if (observe) observe(req, res, () => options.http2Handler(req, res));
      else options.http2Handler(req, res);
    });
    if (observe) {
      // The app's own 'request' listeners (Express) run inside the observer.
      const handlers = this.h1.listeners('request') as Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
      this.h1.removeAllListeners('request');
      this.h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
        observe(req, res, () => {
          for (const handler of handlers) handler.call(this.h1, req, res);
        }),
      );
    }
    this.h2.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.closing) session.close();
    });
    this.h2.on('sessionError', (err) => this.logger.debug({ err }, 'http2 session error'));
    // Prepended so that it runs before the app writes anything.
    this.h1.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      this.inFlight.add(res);
      if (this.closing) res.setHeader('connection', 'close');
      res.once('close', () => {
        this.inFlight.delete(res);
        // A keep-alive connection that just finished its last response is idle now.
        if (this.closing) setImmediate(() => this.h1.closeIdleConnections());
      });
    });
    this.front = net.createServer((socket) => this.onConnection(socket));
    this.front.maxConnections = this.limits.maxConnections;
    this.front.on('drop', (data) => this.logger.warn({ remote: data?.remoteAddress, maxConnections: this.limits.maxConnections }, 'connection refused: too many open connections'));
    this.front.on('error', (err) => this.logger.error({ err }, 'listener error'));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.front.once('error', onError);
      this.front.listen(port, host, () => {
        this.front.off('error', onError);
        // The HTTP/1.1 server never listens itself; its connection tracking (idle/headers/request
        // timeouts, closeIdleConnections) starts on 'listening', so start it here.
        this.h1.emit('listening');
        resolve(this.front.address() as AddressInfo);
      });
    });
  }

  /**
   * Accept connections but leave them unread until `serveConnections()`: the port can be bound
   * before the app has finished starting, so that a port in use stops the start before it
   * writes anything, without a request reaching a half-initialised app.
   */
  holdConnections(): void {
    this.waiting ??= [];
  }

  serveConnections(): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const socket of waiting) if (!socket.destroyed) this.peek(socket);
  }

  address(): AddressInfo | null {
    return this.front.address() as AddressInfo | null;
  }

  /**
   * Graceful stop: no new connections; HTTP/2 sessions get GOAWAY and close when their
   * streams are done; HTTP/1.1 connections close when idle (in-flight responses finish and
   * carry `Connection: close`). After `timeoutMs`, whatever is left is destroyed.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.closing ??= this.doClose(timeoutMs);
    return this.closing;
  }

  private async doClose(timeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.front.close(() => resolve()));
    for (const socket of this.peeking) socket.destroy();
    for (const socket of this.waiting ?? []) socket.destroy();
    for (const session of this.sessions) session.close();
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    this.h1.closeIdleConnections();

    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => {
      const check = () => {
        if (this.sockets.size === 0) resolve(true);
      };
      for (const socket of this.sockets) socket.once('close', () => setImmediate(check));
      check();
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const clean = await drained;
    clearTimeout(timer);
    if (!clean) {
      this.logger.warn({ connections: this.sockets.size }, 'connections still open at shutdown: closing them');
      for (const session of this.sessions) session.destroy();
      for (const socket of this.sockets) socket.destroy();
    }
    await stopped;
  }

  /** An HTTP/2 stream whose request body has not ended within requestTimeoutMs is cancelled. */
  private limitRequestTime(req: http2.Http2ServerRequest): void {
    if (req.readableEnded) return;
    const timer = setTimeout(() => {
      this.logger.debug({ path: req.url, timeoutMs: this.limits.requestTimeoutMs }, 'request body too slow: stream cancelled');
      req.stream.close(http2.constants.NGHTTP2_CANCEL);
    }, this.limits.requestTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    req.stream.once('close', clear);
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.waiting) this.waiting.push(socket);
    else this.peek(socket);
  }

  private peek(socket: Socket): void {
    this.peeking.add(socket);
    let seen = Buffer.alloc(0);
    const done = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
      clearTimeout(timer);
      this.peeking.delete(socket);
    };
    const handOver = (h2: boolean) => {
      done();
      if (seen.length > 0) socket.unshift(seen);
      (h2 ? this.h2 : this.h1).emit('connection', socket);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      if (n === 0) return;
      if (!seen.subarray(0, n).equals(PREFACE.subarray(0, n))) handOver(false);
      else if (seen.length >= PREFACE.length) handOver(true);
      // else: a prefix of the preface so far; wait for more
    };
    const onEnd = () => {
      done();
      socket.destroy();
    };
    const onError = () => {
      done();
      socket.destroy();
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
    }, this.firstBytesTimeoutMs);
    timer.unref();
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onError);
  }
}
