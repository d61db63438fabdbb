import type { Server as HttpServer } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import { CONFIG, type Config } from '#config';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { orgExists } from '#org';
import type { Logger } from '#logging';
import { accessLog } from './access-log.js';
import { READINESS, type ReadinessProbe } from './health.js';
import { OnePortServer, type HttpLimits } from './one-port-server.js';
import { createFrontGate } from './front-gate.js';
import { ACCEPTED_COMPRESSION, grpcUnary } from './grpc-unary.js';
import { clientAddressKey } from './caller-context.js';
import { clientAddress, trustedProxies } from './client-address.js';
import { createRestGateway, restPathMatcher, type Req, type Res } from './rest-gateway.js';
import { createRoutes, READ_MAX_BYTES, SERVED_SERVICES, SERVICE_NAMES, type Routes, type TransportDependencies } from './routes.js';
import { SESSION_SERVICE_IMPL, USER_SERVICE_IMPL, type SessionServiceImpl, type UserServiceImpl } from './tokens.js';
import { isGrpcRequest, notServed } from './unknown-routes.js';

/** A provider if some module provides the token, else undefined. */
export function optionalProvider<T>(app: INestApplicationContext, token: symbol): T | undefined {
  try {
    return app.get<T>(token, { strict: false });
  } catch {
    return undefined;
  }
}

/** The service implementations, the Authenticator and readiness, from the Nest container (each optional). */
export function transportDependenciesFrom(app: INestApplicationContext, logger: Logger): TransportDependencies {
  const store = optionalProvider<EventStore>(app, EVENT_STORE);
  return {
    userService: optionalProvider<UserServiceImpl>(app, USER_SERVICE_IMPL),
    sessionService: optionalProvider<SessionServiceImpl>(app, SESSION_SERVICE_IMPL),
    authenticator: optionalProvider<Authenticator>(app, AUTHENTICATOR),
    ...(store ? { orgExists: (orgId: string) => orgExists(store, orgId) } : {}),
    readiness: optionalProvider<ReadinessProbe>(app, READINESS),
    trustedProxies: optionalProvider<Config>(app, CONFIG)?.TRUSTED_PROXIES ?? [],
    logger,
  };
}

export interface MountedTransport {
  routes: Routes;
  /** For the h2c side of the one-port server: gRPC, Connect and gRPC-Web over HTTP/2. */
  http2Handler: (req: Req, res: Res) => void;
  /** The server is stopping: health answers NOT_SERVING and its Watch streams end, so that the port can drain. */
  stopping(): void;
}

/**
 * Puts the API in front of the Nest routes on both HTTP versions: each request passes the front
 * gate (its token checked before any body is read), then Connect, gRPC and gRPC-Web procedures,
 * then the REST gateway; only what none of them serves reaches Express and the Nest routes
 * (/healthz, /readyz, /metrics, the docs, the admin API) over HTTP/1.1, or the transport's
 * unknown-path answer over HTTP/2. API requests never pass Express's router: it cost 4–5 % of
 * the server's CPU per REST call (docs/benchmarks.md). Must run before `app.init()`, which
 * installs Nest's not-found handler (replaced here by the transport's).
 */
export function mountTransport(app: INestApplication, deps: TransportDependencies): MountedTransport {
  const wiring = { userService: !!deps.userService, sessionService: !!deps.sessionService, authenticator: !!deps.authenticator, readiness: !!deps.readiness };
  if (deps.authenticator) deps.logger.info(wiring, 'transport: services and authenticator resolved');
  else deps.logger.warn(wiring, 'transport: no AUTHENTICATOR provided, every call will be Unauthenticated');
  if (!deps.readiness) deps.logger.warn(wiring, 'transport: no READINESS provided, grpc.health.v1.Health will answer NOT_SERVING');
  const stop = new AbortController();
  const routes = createRoutes({ ...deps, shutdown: stop.signal });
  const gate = createFrontGate({
    authenticator: deps.authenticator,
    authenticatedServices: SERVED_SERVICES,
    isRestPath: restPathMatcher(SERVED_SERVICES),
    readMaxBytes: READ_MAX_BYTES,
    logger: deps.logger,
  });
  const trusted = trustedProxies(deps.trustedProxies ?? []);
  // Every protocol's call gets the Caller the gate found and the address of its client.
  const contextValues = (req: Req) => {
    const values = gate.contextValues(req);
    const address = clientAddress(req.socket?.remoteAddress, req.headers['x-forwarded-for'], trusted);
    values.set(clientAddressKey, address ?? '');
    return values;
  };
  const gateway = createRestGateway({ routes, services: SERVED_SERVICES, logger: deps.logger, contextValues });
  const unknown = notServed(SERVICE_NAMES);
  answerUnknownPathsWith(app, unknown);

  const http1 = app.getHttpServer() as HttpServer;
  const nest = http1.listeners('request') as Array<(req: Req, res: Res) => void>;
  /** What the API does not serve: Nest's routes over HTTP/1.1 (they are HTTP/1.1 only), the transport's answer over h2c. */
  const notApi = (req: Req, res: Res) => {
    if (req.httpVersionMajor >= 2) unknown(req, res);
    else for (const listener of nest) listener(req, res);
  };
  // Over h2c the REST gateway answers too (as ZITADEL's does).
  const served = connectNodeAdapter({
    routes,
    readMaxBytes: READ_MAX_BYTES,
    acceptCompression: [...ACCEPTED_COMPRESSION],
    contextValues,
    fallback: (req, res) => (isGrpcRequest(req) ? unknown(req, res) : gateway(req, res, () => notApi(req, res))),
  });
  // Plain unary gRPC calls of the API skip connect-node's request pipeline (grpc-unary.ts).
  const grpc = grpcUnary({ routes, services: SERVED_SERVICES, readMaxBytes: READ_MAX_BYTES, contextValues, logger: deps.logger });
  const serve = (req: Req, res: Res) => {
    if (req.httpVersionMajor === 2 && grpc.handles(req as Http2ServerRequest)) grpc.serve(req as Http2ServerRequest, res as Http2ServerResponse);
    else served(req, res);
  };
  /** Both HTTP versions: no API request's body is read before its token has been checked. */
  const api = (req: Req, res: Res) => {
    gate.admit(req, res).then(
      (admitted) => admitted && serve(req, res),
      (err: unknown) => {
        deps.logger.error({ err }, 'front gate failed');
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        }
      },
    );
  };
  http1.removeAllListeners('request');
  http1.on('request', api);
  return { routes, http2Handler: api, stopping: () => stop.abort() };
}

/**
 * What no Nest route answers gets the transport's answer (grpc-status 12 for gRPC, the gateway's
 * 404 body otherwise) instead of Nest's own 404 body, so that one server speaks one error shape
 * whatever the path (`/v2beta/...` included). Nest installs its not-found handler during
 * `init()`, after the routes; this hands it ours instead.
 */
function answerUnknownPathsWith(app: INestApplication, handler: (req: Req, res: Res) => void): void {
  const adapter = app.getHttpAdapter();
  const install = adapter.setNotFoundHandler?.bind(adapter);
  if (!install) throw new Error('the HTTP adapter has no not-found handler to replace');
  adapter.setNotFoundHandler = (_nests: unknown, ...rest: unknown[]) =>
    (install as (h: unknown, ...r: unknown[]) => unknown)((req: Req, res: Res) => handler(req, res), ...rest);
}

export interface ServingApp {
  url: string;
  port: number;
  server: OnePortServer;
  /** Stops the port gracefully, then closes the Nest app (its shutdown hooks close the stores). */
  close(): Promise<void>;
}

/**
 * The whole start: resolve the services and the Authenticator from the container, mount the
 * transport, init the app, and listen on one port for REST, gRPC, Connect, gRPC-Web, and the
 * app's own HTTP routes (/healthz, /readyz).
 */
export async function serveOnOnePort(
  app: INestApplication,
  options: { port: number; host: string; logger: Logger; limits?: Partial<HttpLimits> },
): Promise<ServingApp> {
  const mounted = mountTransport(app, transportDependenciesFrom(app, options.logger));
  const server = new OnePortServer({
    http1: app.getHttpServer() as HttpServer,
    http2Handler: mounted.http2Handler,
    logger: options.logger,
    observe: accessLog(options.logger),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  // The port is bound before init, which runs the first-start bootstrap (it writes admin.pat):
  // a port in use stops the start before anything is written. Connections wait until init is done.
  server.holdConnections();
  const { port }: AddressInfo = await server.listen(options.port, options.host);
  try {
    await app.init();
  } catch (err) {
    await server.close(0);
    throw err;
  }
  server.serveConnections();
  return {
    url: `http://${urlHost(options.host)}:${port}`,
    port,
    server,
    async close() {
      mounted.stopping();
      await server.close();
      await app.close();
    },
  };
}

/** The host of a URL that reaches the port from this machine: a wildcard address is not one to connect to. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
