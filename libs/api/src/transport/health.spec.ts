import { describe, expect, it } from '@jest/globals';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import { createLogger } from '#logging';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';
import { createHealthService } from './health.js';

function setup(initiallyReady: boolean) {
  const readiness = { ready: initiallyReady, checks: 0, async check() { this.checks++; return { ready: this.ready }; } };
  const shutdown = new AbortController();
  const impl = createHealthService({
    readiness,
    services: ['zitadel.user.v2.UserService'],
    logger: createLogger('silent'),
    watchIntervalMs: 10,
    shutdown: shutdown.signal,
  });
  const client = createClient(Health, createRouterTransport((router) => router.service(Health, impl)));
  return { readiness, shutdown, client };
}

describe('grpc.health.v1.Health Watch', () => {
  it('Given a watcher, When readiness changes and changes back, Then it receives the current status and each change once', async () => {
    const { readiness, client } = setup(true);
    const abort = new AbortController();
    const stream = client.watch({ service: 'zitadel.user.v2.UserService' }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    readiness.ready = false;
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    readiness.ready = true;
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it('Given a watcher, When the server stops, Then it receives NOT_SERVING and the stream ends; Check says NOT_SERVING too', async () => {
    const { shutdown, client } = setup(true);
    const received: ServingStatus[] = [];
    const watching = (async () => {
      for await (const res of client.watch({ service: '' })) {
        received.push(res.status);
        if (received.length === 1) shutdown.abort();
      }
    })();
    await watching;
    expect(received).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
  });

  it('Given a readiness check that throws, When checked, Then NOT_SERVING (a failing check never reads as ready)', async () => {
    const impl = createHealthService({
      readiness: { check: () => Promise.reject(new Error('boom')) },
      services: [],
      logger: createLogger('silent'),
    });
    const client = createClient(Health, createRouterTransport((router) => router.service(Health, impl)));
    expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING);
  });
});
