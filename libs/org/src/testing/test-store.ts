import { migrate, openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { EVENT_STORE_HISTORY, eventStoreMigrations, PostgresEventStore, type EventStore } from '#eventstore';

export interface TestStore {
  store: EventStore;
  database: SqlDatabase;
  close(): Promise<void>;
}

/** A real event store on a fresh in-memory PGlite (no files, no lock): no mocks. */
export async function openTestStore(): Promise<TestStore> {
  return wrap(await openInMemoryDatabase());
}

/** A real event store on server PostgreSQL (a scratch database), migrated. */
export async function openServerTestStore(url: string, options: { migrate?: boolean } = {}): Promise<TestStore> {
  return wrap(openServerDatabase({ connectionString: url, maxConnections: 4 }), options.migrate ?? true);
}

async function wrap(database: SqlDatabase, migrated = true): Promise<TestStore> {
  if (migrated) await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  const store = new PostgresEventStore(database);
  return {
    store,
    database,
    async close() {
      await store.close();
      await database.close();
    },
  };
}
