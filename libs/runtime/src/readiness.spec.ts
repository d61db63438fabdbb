import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore, type EventStore } from '#eventstore';
import { capturingLogger } from '#logging/testing';
import { loadConfig } from '#config';
import type { ModuleRef } from '@nestjs/core';
import type { ProjectionStatus } from '#projections/runner';
import { USER_PROJECTION_RUNNER } from '#projections/users';
import { Readiness } from './readiness.js';
import { migrateAll, sqlSchemas } from './stores.js';

const config = loadConfig({ DATA_DIR: '/nonexistent-readiness-spec' });

async function openDatabase(kind: 'pglite' | 'server') {
  if (kind === 'pglite') return { database: await openInMemoryDatabase(), drop: async () => undefined };
  const scratch = await createScratchDatabase('readiness');
  return { database: openServerDatabase({ connectionString: scratch.url }), drop: scratch.drop };
}

/** The real store, except that its ping fails: a store that stopped answering. */
function unreachable(store: EventStore): EventStore {
  return new Proxy(store, {
    get: (target, key, receiver) =>
      key === 'ping' ? () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : Reflect.get(target, key, receiver),
  });
}

describe.each(serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const))('Readiness (%s)', (kind) => {
  /** A container holding one projection runner that reports `status`. */
  const containerWith = (status: ProjectionStatus) =>
    ({ get: (token: symbol) => (token === USER_PROJECTION_RUNNER ? { status: () => status } : undefined) }) as unknown as ModuleRef;

  describe('on a migrated database', () => {
    let database: SqlDatabase;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      ({ database, drop } = await openDatabase(kind));
      await migrateAll(database, sqlSchemas(config));
    });
    afterAll(async () => {
      await database.close();
      await drop();
    });

    it('Given the store answering, When checked, Then ready with every check ok', async () => {
      const { logger } = capturingLogger();
      const report = await new Readiness(new PostgresEventStore(database), database, config, logger).check();
      expect(report).toEqual({ ready: true, checks: { eventStore: 'ok', migrations: 'ok', projections: 'ok' } });
    });

    it('Given a projection runner that stopped on a failing event, When checked, Then not ready, with the event and the reason', async () => {
      const { logger } = capturingLogger();
      const failed: ProjectionStatus = {
        name: 'users',
        state: 'failed',
        checkpoint: undefined,
        failure: {
          projection: 'users',
          event: { id: 'ev-1', stream: 'user-1', type: 'user.human.added', sequence: 1, position: 'p' as never },
          reason: 'boom',
          cause: new Error('boom'),
          at: new Date(),
        },
      };
      const report = await new Readiness(new PostgresEventStore(database), database, config, logger, containerWith(failed)).check();
      expect(report).toEqual({
        ready: false,
        checks: { eventStore: 'ok', migrations: 'ok', projections: 'failed' },
        reasons: { projections: 'users stopped at event ev-1 (user.human.added): boom' },
      });
      const running = await new Readiness(new PostgresEventStore(database), database, config, logger, containerWith({ ...failed, state: 'running', failure: undefined })).check();
      expect(running.ready).toBe(true);
    });

    it('Given a store whose ping fails, When checked, Then not ready: the store is unreachable, and the log says so', async () => {
      const { logger, lines } = capturingLogger();
      const report = await new Readiness(unreachable(new PostgresEventStore(database)), database, config, logger).check();
      expect(report).toEqual({ ready: false, checks: { eventStore: 'unreachable', migrations: 'ok', projections: 'ok' } });
      expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'readiness: event store unreachable' }));
    });
  });

  it('Given a database nothing was migrated in, When checked, Then not ready: migrations pending', async () => {
    const { database, drop } = await openDatabase(kind);
    try {
      const { logger } = capturingLogger();
      const report = await new Readiness(new PostgresEventStore(database), database, config, logger).check();
      expect(report).toEqual({ ready: false, checks: { eventStore: 'ok', migrations: 'pending', projections: 'ok' } });
    } finally {
      await database.close();
      await drop();
    }
  });
});
