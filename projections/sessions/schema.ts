import type { Kysely, Migration } from 'kysely';
import {
  column,
  createTablesMigration,
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
 * migration 0001 makes from this declaration; a replay builds `projections.sessions_v<N>`.
 * Deployed databases hold what 0001 made: schema.spec.ts pins that shape, so a change here
 * fails it until 0001 is written out as it was and the change gets a migration of its own.
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

export const sessionProjectionMigrations: Record<string, Migration> = {
  '0001_sessions': createTablesMigration(sessionsReadModel),
};
