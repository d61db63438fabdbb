import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore, type EventStore } from '#eventstore';
import { capturingLogger } from '#logging/testing';
import { loadConfig } from '#config';
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
      expect(report).toEqual({ ready: true, checks: { eventStore: 'ok', migrations: 'ok' } });
    });

    it('Given a store whose ping fails, When checked, Then not ready: the store is unreachable, and the log says so', async () => {
      const { logger, lines } = capturingLogger();
      const report = await new Readiness(unreachable(new PostgresEventStore(database)), database, config, logger).check();
      expect(report).toEqual({ ready: false, checks: { eventStore: 'unreachable', migrations: 'ok' } });
      expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'readiness: event store unreachable' }));
    });
  });

  it('Given a database nothing was migrated in, When checked, Then not ready: migrations pending', async () => {
    const { database, drop } = await openDatabase(kind);
    try {
      const { logger } = capturingLogger();
      const report = await new Readiness(new PostgresEventStore(database), database, config, logger).check();
      expect(report).toEqual({ ready: false, checks: { eventStore: 'ok', migrations: 'pending' } });
    } finally {
      await database.close();
      await drop();
    }
  });
});
