import type { Kysely } from 'kysely';
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

/** History table of the user read model's migrations (`projection_users_migrations`). */
export const USER_PROJECTION_HISTORY = 'projection_users';

/**
 * users: one row per user. `sequence` and `change_date` are those of the last event reduced
 * for the user (details on read), `creation_date` the time of its first; `state` is 'active'
 * or 'locked'; `kind` 'human' or 'machine'; `gender` 'female', 'male', 'diverse' or null
 * (unspecified). No check constraints on values: a read model must never refuse an event, and new
 * states should not need a migration.
 */
export const usersTable = defineTable('users', {
  columns: {
    id: column.text(),
    org_id: column.text(),
    username: column.text(),
    kind: column.text(),
    state: column.text().default('active'),
    given_name: column.text().nullable(),
    family_name: column.text().nullable(),
    display_name: column.text().nullable(),
    nick_name: column.text().nullable(),
    preferred_language: column.text().nullable(),
    email: column.text().nullable(),
    email_verified: column.boolean().default(false),
    otp_email: column.boolean().default(false),
    machine_name: column.text().nullable(),
    machine_description: column.text().nullable(),
    sequence: column.integer(),
    change_date: column.timestamptz(),
    creation_date: column.timestamptz(),
    // Added by migration 0002, which appends it to existing tables: declared last, so a
    // replay's tables have their columns in the same order as a migrated version 1.
    gender: column.text().nullable(),
  },
  key: ['id'],
  sequence: 'sequence',
  indexes: { org_id: ['org_id'] },
});

/** user_auth_methods: one row per READY factor (`method_type` 'OTP_EMAIL' today), so other factor types fit without a change of shape. */
export const userAuthMethodsTable = defineTable('user_auth_methods', {
  columns: {
    user_id: column.text(),
    method_type: column.text(),
    sequence: column.integer(),
    change_date: column.timestamptz(),
  },
  key: ['user_id', 'method_type'],
  sequence: 'sequence',
});

/**
 * The user read model's tables, declared once. Version 1 (`projections.users`,
 * `projections.user_auth_methods`) is what the migrations (migrations.ts) made; a replay builds
 * `projections.users_v<N>` and `projections.user_auth_methods_v<N>`, verify scratch tables
 * with its own suffix, all from these declarations. A change of shape is made here and gets a
 * forward migration that brings every existing version's tables to it (schema.spec.ts checks
 * that migrated tables and declared ones have the same shape).
 */
export const usersReadModel = defineReadModel('projections', [usersTable, userAuthMethodsTable]);

/** The read model's Database interface for kysely: `users` and `user_auth_methods`, of whichever version `userTables` names. */
export interface UsersReadModel extends DatabaseOf<typeof usersReadModel> {}

/** A row of projections.users, as the database returns it. */
export type UserRow = RowOf<typeof usersTable.columns>;

/** The physical tables of a version (or of a scratch set). */
export const userTables = (target: VersionTarget) => new TableNames(usersReadModel, target);

/** The user read model's tables of `version`, typed (queries). */
export function usersReadModelDb(db: Kysely<object>, version: number): Kysely<UsersReadModel> {
  return readModelDb(db, userTables({ version }));
}

export { userProjectionMigrations } from './migrations.js';
