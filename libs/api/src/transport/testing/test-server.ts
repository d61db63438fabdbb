import 'reflect-metadata';
import { Controller, Get, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import type { Caller } from '#access';
import { unauthenticated } from '#errors';
import { createLogger, type Logger } from '#logging';
import { serveOnOnePort, type HttpLimits, type ServingApp } from '#api';
import { READINESS, SESSION_SERVICE_IMPL, USER_SERVICE_IMPL, type ReadinessProbe, type SessionServiceImpl, type UserServiceImpl } from '#api';

/** Test double of the real health controller: the transport must leave the app's routes alone. */
@Controller()
class HealthStubController {
  @Get('healthz')
  alive() {
    return { status: 'ok' };
  }
}

@Module({})
class TestAppModule {
  static with(providers: Provider[]): DynamicModule {
    return { module: TestAppModule, controllers: [HealthStubController], providers };
  }
}

export const GOOD_TOKEN = 'good-token';
export const STUB_CALLER: Caller = { userId: 'caller-1', orgId: 'org', instanceId: 'inst', kind: 'human', roles: [] };

/** Test double: accepts exactly `Bearer good-token`, as the caller STUB_CALLER. */
export const stubAuthenticator: Authenticator = {
  async authenticate(authorization) {
    if (authorization === undefined) throw unauthenticated('AUTH-7fs1e', 'Errors.Token.Missing');
    if (authorization !== `Bearer ${GOOD_TOKEN}`) throw unauthenticated('AUTH-stub01', 'Errors.Token.Invalid');
    return STUB_CALLER;
  },
};

export interface TestServer extends ServingApp {
  logs: Record<string, any>[];
  logger: Logger;
}

/**
 * A Nest app with the given test doubles in its container (each optional, as in production),
 * served through the production wiring (serveOnOnePort) on 127.0.0.1, port 0.
 */
export async function startTestServer(doubles: {
  userService?: UserServiceImpl;
  sessionService?: SessionServiceImpl;
  authenticator?: Authenticator;
  readiness?: ReadinessProbe;
  /** Limits on slow and numerous clients (defaults otherwise). */
  limits?: Partial<HttpLimits>;
}): Promise<TestServer> {
  const logs: Record<string, any>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const providers: Provider[] = [];
  if (doubles.userService) providers.push({ provide: USER_SERVICE_IMPL, useValue: doubles.userService });
  if (doubles.sessionService) providers.push({ provide: SESSION_SERVICE_IMPL, useValue: doubles.sessionService });
  if (doubles.authenticator) providers.push({ provide: AUTHENTICATOR, useValue: doubles.authenticator });
  if (doubles.readiness) providers.push({ provide: READINESS, useValue: doubles.readiness });
  const app = await NestFactory.create(TestAppModule.with(providers), { logger: false, abortOnError: false });
  const serving = await serveOnOnePort(app, { port: 0, host: '127.0.0.1', logger, ...(doubles.limits ? { limits: doubles.limits } : {}) });
  return Object.assign(serving, { logs, logger });
}

/** A promise with its resolve function, for holding a call in flight. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
