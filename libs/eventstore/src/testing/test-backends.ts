import type { Migration } from 'kysely';
import { migrate, openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore } from '#eventstore';
import { EVENT_STORE_HISTORY, eventStoreMigrations } from '#eventstore';

export interface TestStores {
  database: SqlDatabase;
  store: PostgresEventStore;
  /** Server PostgreSQL: the scratch database's URL (for a second process or connection). */
  url?: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  label: string;
  available: boolean;
  reason: string;
  /** A fresh store, migrated: the event store's schema plus `schemas` (history table → migrations). */
  open(schemas?: Record<string, Record<string, Migration>>): Promise<TestStores>;
}

/**
 * Events (and whatever else a suite migrates) in one database, as the server runs them:
 * PGlite in memory always, server PostgreSQL (a scratch database) when DATABASE_URL is set.
 */
export function testBackends(scratchPrefix: string): Backend[] {
  return [
    {
      label: 'embedded PGlite',
      available: true,
      reason: '',
      open: async (schemas) => migrated(await openInMemoryDatabase(), schemas, async () => undefined),
    },
    {
      label: 'server PostgreSQL',
      available: Boolean(serverDatabaseUrl),
      reason: NO_SERVER_REASON,
      async open(schemas) {
        const scratch = await createScratchDatabase(scratchPrefix);
        const database = openServerDatabase({ connectionString: scratch.url, maxConnections: 10 });
        return { ...(await migrated(database, schemas, scratch.drop)), url: scratch.url };
      },
    },
  ];
}

async function migrated(
  database: SqlDatabase,
  schemas: Record<string, Record<string, Migration>> = {},
  drop: () => Promise<void>,
): Promise<TestStores> {
  for (const [history, migrations] of Object.entries({ [EVENT_STORE_HISTORY]: eventStoreMigrations, ...schemas })) {
    await migrate(database.db, history, migrations);
  }
  const store = new PostgresEventStore(database);
  return {
    database,
    store,
    async cleanup() {
      await store.close();
      await database.close();
      await drop();
    },
  };
}
