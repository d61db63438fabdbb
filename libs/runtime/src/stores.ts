import type { Migration } from 'kysely';
import { join } from 'node:path';
import { migrate, openEmbeddedDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { EventStoreDbEventStore } from '#eventstore';
import {
  EVENT_STORE_HISTORY,
  eventStoreMigrations,
  PostgresEventStore,
  type EventStore,
} from '#eventstore';
import { notificationSchemas } from '#notification';
import { sessionProjectionSchemas } from '#projections/sessions';
import { userProjectionSchemas } from '#projections/users';
import type { Config } from '#config';
import { withAppendMetrics } from './event-store-metrics.js';

/** Server PostgreSQL when DATABASE_URL is set, else the embedded PGlite in DATA_DIR. */
export async function openSqlDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<SqlDatabase> {
  return config.DATABASE_URL
    ? openServerDatabase({ connectionString: config.DATABASE_URL })
    : openEmbeddedDatabase({ dataDir: config.DATA_DIR });
}

export function openEventStore(config: Pick<Config, 'EVENTSTORE' | 'EVENTSTORE_CONNECTION_STRING'>, database: SqlDatabase): EventStore {
  return withAppendMetrics(
    config.EVENTSTORE === 'eventstoredb' ? EventStoreDbEventStore.connect(config.EVENTSTORE_CONNECTION_STRING!) : new PostgresEventStore(database),
  );
}

/** Every schema the process needs in PostgreSQL, by history table: the event store's (unless events live in EventStoreDB) and the read models'. */
export function sqlSchemas(config: Pick<Config, 'EVENTSTORE'>): Record<string, Record<string, Migration>> {
  return {
    ...(config.EVENTSTORE === 'postgres' ? { [EVENT_STORE_HISTORY]: eventStoreMigrations } : {}),
    ...userProjectionSchemas,
    ...sessionProjectionSchemas,
    ...notificationSchemas,
  };
}

export async function migrateAll(database: SqlDatabase, schemas: Record<string, Record<string, Migration>>): Promise<string[]> {
  const applied: string[] = [];
  for (const [history, migrations] of Object.entries(schemas)) {
    applied.push(...(await migrate(database.db, history, migrations)).map((name) => `${history}/${name}`));
  }
  return applied;
}

export const embeddedDataPath = (config: Pick<Config, 'DATA_DIR'>, name: string) => join(config.DATA_DIR, name);
