import type { Migration } from 'kysely';
import { migrate, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, NO_SERVER_REASON, openMigratedInMemoryDatabase, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore } from '#eventstore';
import { EVENT_STORE_HISTORY, eventStoreMigrations } from '#eventstore';

export interface TestStores {
  database: SqlDatabase;
  store: PostgresEventStore;
  /** Server PostgreSQL: the scratch database's URL (for a second process or connection). */
  url?: string;
  cleanup(): Promise<void>;
}

export type BackendKind = 'pglite' | 'server';

export interface Backend {
  kind: BackendKind;
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
      kind: 'pglite',
      label: 'embedded PGlite',
      available: true,
      reason: '',
      // From a cached template of the same migrations: the migrations below then find nothing to do.
      open: async (schemas) =>
        migrated(await openMigratedInMemoryDatabase({ [EVENT_STORE_HISTORY]: eventStoreMigrations, ...schemas }), schemas, async () => undefined),
    },
    {
      kind: 'server',
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

/** One of the backends, for a suite that is handed its kind (e.g. by describe.each) or needs only one. */
export function testBackend(kind: BackendKind, scratchPrefix = 'test'): Backend {
  return testBackends(scratchPrefix).find((backend) => backend.kind === kind)!;
}

/**
 * Another pool and store on a server database a backend opened (`TestStores.url`), sharing
 * nothing in memory with the first, as a second process would: it migrates nothing, and its
 * cleanup drops nothing.
 */
export function connectTestStores(url: string, options: { maxConnections?: number } = {}): TestStores {
  const database = openServerDatabase({ connectionString: url, maxConnections: options.maxConnections ?? 4 });
  const store = new PostgresEventStore(database);
  return {
    database,
    store,
    url,
    async cleanup() {
      await store.close();
      await database.close();
    },
  };
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
