import { describe, expect, it } from '@jest/globals';
import type { SqlDatabase } from '#database';
import type { EventStore } from '#eventstore';
import { loadConfig } from '#config';
import { capturingLogger } from '#logging/testing';
import { Readiness } from '#runtime';
import { HealthController } from './health.controller.js';

describe('/readyz', () => {
  it('reports "not ready" as 503 with the checks (a report, not an error answer)', async () => {
    const eventStore = { ping: () => Promise.reject(new Error('store down')) } as unknown as EventStore;
    const database = {
      db: new Proxy({}, { get: () => () => { throw new Error('database down'); } }),
    } as unknown as SqlDatabase;
    const { logger, lines } = capturingLogger();
    const controller = new HealthController(new Readiness(eventStore, database, loadConfig({ DATA_DIR: '/nonexistent' }), logger));
    const statuses: number[] = [];
    const body = await controller.ready({ status: (code: number) => statuses.push(code) });
    expect(statuses).toEqual([503]);
    expect(body).toEqual({ status: 'not ready', checks: { eventStore: 'unreachable', migrations: 'unreachable', projections: 'ok' } });
    expect(lines.map((l) => l.msg)).toEqual(['readiness: event store unreachable', 'readiness: database unreachable']);
  });
});
