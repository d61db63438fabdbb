import { sql, type Kysely, type Migration } from 'kysely';
import {
  column,
  defineReadModel,
  defineTable,
  readModelDb,
  TableNames,
  type DatabaseOf,
  type RowOf,
  type VersionTarget,
} from '#projections/runner';

/** History table of the sessions read model's migrations (`projection_sessions_migrations`). */
export const SESSION_PROJECTION_HISTORY = 'projection_sessions';

/**
 * sessions: one row per session, what ListSessions filters on and returns. `sequence` and
 * `change_date` are those of the session's last event; `resource_owner` is the organization
 * the session belongs to (the checked user's, before a check the creator's); `terminated`
 * rows stay (so that nothing brings a session back) and are never listed. `metadata` is the
 * session's metadata as JSON (keys to base64 values), `user_agent_header` the user agent's
 * header as JSON (names to lists of values). The user's login name and display name are read
 * from the users read model when listed (ZITADEL joins them too).
 */
export const sessionsTable = defineTable('sessions', {
  columns: {
    id: column.text(),
    creator: column.text(),
    resource_owner: column.text(),
    user_id: column.text().nullable(),
    user_org_id: column.text().nullable(),
    user_checked_at: column.timestamptz().nullable(),
    /** The username at the check: what the list shows when the user is not in the users read model. */
    login_name: column.text().nullable(),
    otp_email_checked_at: column.timestamptz().nullable(),
    user_agent_fingerprint_id: column.text().nullable(),
    user_agent_ip: column.text().nullable(),
    user_agent_description: column.text().nullable(),
    user_agent_header: column.text().nullable(),
    metadata: column.text().default('{}'),
    expiration: column.timestamptz().nullable(),
    terminated: column.boolean().default(false),
    sequence: column.integer(),
    creation_date: column.timestamptz(),
    change_date: column.timestamptz(),
  },
  key: ['id'],
  sequence: 'sequence',
  indexes: {
    user_id: ['user_id'],
    creator: ['creator'],
    fingerprint: ['user_agent_fingerprint_id'],
    creation_date: ['creation_date'],
  },
});

/**
 * The sessions read model's tables, declared once. Version 1 (`projections.sessions`) is what
 * migration 0001 below makes (the same shape, written out); a replay builds
 * `projections.sessions_v<N>` from this declaration. The projection spec pins version 1 and
 * checks that the declaration still matches it: a change here needs a migration of its own.
 */
export const sessionsReadModel = defineReadModel('projections', [sessionsTable]);

export interface SessionsReadModel extends DatabaseOf<typeof sessionsReadModel> {}

/** A row of projections.sessions, as the database returns it. */
export type SessionRow = RowOf<typeof sessionsTable.columns>;

export const sessionTables = (target: VersionTarget) => new TableNames(sessionsReadModel, target);

/** The sessions read model's tables of `version`, typed (queries). */
export function sessionsReadModelDb(db: Kysely<object>, version: number): Kysely<SessionsReadModel> {
  return readModelDb(db, sessionTables({ version }));
}

/**
 * The sessions read model's migrations, in history table `projection_sessions_migrations`:
 * each written out as it ran and never changed afterwards (deployed databases hold what it
 * made); a later change of the declaration above gets a forward migration of its own.
 */
export const sessionProjectionMigrations: Record<string, Migration> = {
  // Version 1's table.
  '0001_sessions': {
    async up(db) {
      await sql`create schema if not exists projections`.execute(db);
      await sql`
        create table projections.sessions (
          id text not null,
          creator text not null,
          resource_owner text not null,
          user_id text,
          user_org_id text,
          user_checked_at timestamptz,
          login_name text,
          otp_email_checked_at timestamptz,
          user_agent_fingerprint_id text,
          user_agent_ip text,
          user_agent_description text,
          user_agent_header text,
          metadata text not null default '{}',
          expiration timestamptz,
          terminated boolean not null default false,
          sequence integer not null,
          creation_date timestamptz not null,
          change_date timestamptz not null,
          primary key (id)
        )`.execute(db);
      await sql`create index sessions_user_id on projections.sessions (user_id)`.execute(db);
      await sql`create index sessions_creator on projections.sessions (creator)`.execute(db);
      await sql`create index sessions_fingerprint on projections.sessions (user_agent_fingerprint_id)`.execute(db);
      await sql`create index sessions_creation_date on projections.sessions (creation_date)`.execute(db);
    },
    async down(db) {
      await sql`drop table projections.sessions`.execute(db);
    },
  },
};
