import type { Migration } from 'kysely';
import { join } from 'node:path';
import { migrate, openEmbeddedDatabase, openServerDatabase, type SqlDatabase } from '#database';
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
import { CodeCipher, loadKeyRing, PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations, PersonalDataKeys, withPersonalDataSealing, type KeyRingOptions } from '#crypto';
import { sessionPersonalData } from '#session';
import { userPersonalData } from '#user';
import { withAppendMetrics } from './event-store-metrics.js';

/** Server PostgreSQL when DATABASE_URL is set, else the embedded PGlite in DATA_DIR. */
export async function openSqlDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'> & Partial<Pick<Config, 'EMBEDDED_SHARED_BUFFERS_MB'>>): Promise<SqlDatabase> {
  const sharedBuffersMb = config.EMBEDDED_SHARED_BUFFERS_MB;
  return config.DATABASE_URL
    ? openServerDatabase({ connectionString: config.DATABASE_URL })
    : openEmbeddedDatabase({ dataDir: config.DATA_DIR, ...(sharedBuffersMb ? { sharedBuffersMb } : {}) });
}

type KeySettings = Pick<Config, 'ENCRYPTION_KEY' | 'ENCRYPTION_KEYS' | 'ENCRYPTION_KEY_ID' | 'DATA_DIR'>;

/** The encryption keys of the settings: ENCRYPTION_KEY, ENCRYPTION_KEYS, ENCRYPTION_KEY_ID; none, the generated key of DATA_DIR. */
export function keyRingOptions(config: KeySettings): KeyRingOptions {
  return {
    ...(config.ENCRYPTION_KEY ? { key: config.ENCRYPTION_KEY } : {}),
    ...(config.ENCRYPTION_KEYS ? { keys: config.ENCRYPTION_KEYS } : {}),
    ...(config.ENCRYPTION_KEY_ID ? { sealingKeyId: config.ENCRYPTION_KEY_ID } : {}),
    dataDir: config.DATA_DIR,
  };
}

/** The per-person data keys (crypto.personal_data_keys), sealed under the service keys of the settings. */
export function openPersonalDataKeys(config: KeySettings, database: SqlDatabase): PersonalDataKeys {
  const { keys, sealingKeyId } = loadKeyRing(keyRingOptions(config));
  return new PersonalDataKeys(database, new CodeCipher(keys, sealingKeyId));
}

/** Which event fields name a person, for every stream's events (the domains say). */
export const personalDataPolicies = { ...userPersonalData, ...sessionPersonalData };

/**
 * The configured event store, with personal data sealed per person (withPersonalDataSealing)
 * and its appends measured. Pass the process's one PersonalDataKeys where something else
 * destroys keys (DeleteUser), so that both share what they know.
 */
export async function openEventStore(
  config: Pick<Config, 'EVENTSTORE' | 'EVENTSTORE_CONNECTION_STRING'> & KeySettings,
  database: SqlDatabase,
  keys: PersonalDataKeys = openPersonalDataKeys(config, database),
): Promise<EventStore> {
  const store =
    config.EVENTSTORE === 'eventstoredb'
      ? (await import('#eventstore/eventstoredb')).EventStoreDbEventStore.connect(config.EVENTSTORE_CONNECTION_STRING!)
      : new PostgresEventStore(database);
  return withAppendMetrics(withPersonalDataSealing(store, keys, personalDataPolicies));
}

/** Every schema the process needs in PostgreSQL, by history table: the event store's (unless events live in EventStoreDB) and the read models'. */
export function sqlSchemas(config: Pick<Config, 'EVENTSTORE'>): Record<string, Record<string, Migration>> {
  return {
    ...(config.EVENTSTORE === 'postgres' ? { [EVENT_STORE_HISTORY]: eventStoreMigrations } : {}),
    [PERSONAL_DATA_KEYS_HISTORY]: personalDataKeyMigrations,
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
