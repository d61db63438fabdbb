import { sql, type Migration } from 'kysely';

/** The notifier's tables live in their own PostgreSQL schema, next to `eventstore` and `projections`. */
export const NOTIFICATION_SCHEMA = 'notification';

/**
 * One row per notifier (name `notifier`): the position of the last event it handled, and the
 * lease that lets only one process at a time send (`owner`, `lease_until`).
 */
export const NOTIFIER_CHECKPOINTS_TABLE = `${NOTIFICATION_SCHEMA}.notifier_checkpoints`;

/** History table of the notifier's migrations (`notifier_migrations`). */
export const NOTIFIER_HISTORY = 'notifier';

export const notifierMigrations: Record<string, Migration> = {
  '0001_checkpoints': {
    async up(db) {
      await sql`create schema if not exists notification`.execute(db);
      // Positions are compared as plain strings (comparePositions): collation "C" makes
      // PostgreSQL's `<` the same byte order as JavaScript's.
      await sql`
        create table notification.notifier_checkpoints (
          name text primary key,
          position text collate "C" not null default '',
          owner text,
          lease_until timestamptz,
          updated_at timestamptz not null default now()
        )`.execute(db);
    },
    async down(db) {
      await sql`drop table notification.notifier_checkpoints`.execute(db);
    },
  },
};

/** Every schema the notifier needs, by history table: the shape of apps/server's sqlSchemas (migrateAll, /readyz). */
export const notificationSchemas: Record<string, Record<string, Migration>> = { [NOTIFIER_HISTORY]: notifierMigrations };
