import { sql, type Kysely, type Migration } from 'kysely';
import type { ProjectionTable, VersionTarget } from '#projections/runner';

/** History table of the user read model's migrations (`projection_users_migrations`). */
export const USER_PROJECTION_HISTORY = 'projection_users';

/**
 * The tables the reducers write and the queries read. A replay can build a second set
 * (`create table ... (like projections.users including all)`) and run the same reducers on it
 * through createUserProjection(tables).
 */
export interface UserTables {
  users: string;
  authMethods: string;
}

export const USER_TABLES: UserTables = {
  users: 'projections.users',
  authMethods: 'projections.user_auth_methods',
};

/**
 * The tables of a version: version 1 is the migration's (`projections.users`,
 * `projections.user_auth_methods`); a replay builds `projections.users_v<N>` and
 * `projections.user_auth_methods_v<N>`; verify builds scratch tables with its own suffix.
 */
export function userTablesOf(target: VersionTarget): UserTables {
  if ('version' in target) {
    if (!Number.isInteger(target.version) || target.version < 1) throw new RangeError(`not a version: ${target.version}`);
    if (target.version === 1) return USER_TABLES;
    return { users: `projections.users_v${target.version}`, authMethods: `projections.user_auth_methods_v${target.version}` };
  }
  if (!/^[a-z0-9_]+$/.test(target.scratch)) throw new RangeError(`not a table suffix: ${target.scratch}`);
  return { users: `projections.users_${target.scratch}`, authMethods: `projections.user_auth_methods_${target.scratch}` };
}

export const USER_COLUMNS = [
  'id',
  'org_id',
  'username',
  'kind',
  'state',
  'given_name',
  'family_name',
  'display_name',
  'nick_name',
  'preferred_language',
  'email',
  'email_verified',
  'otp_email',
  'machine_name',
  'machine_description',
  'sequence',
  'change_date',
  'creation_date',
] as const;
export const AUTH_METHOD_COLUMNS = ['user_id', 'method_type', 'sequence', 'change_date'] as const;

/** The tables as `projections verify` compares them. */
export function userTableSpecs(tables: UserTables): ProjectionTable[] {
  return [
    { name: tables.users, key: ['id'], columns: [...USER_COLUMNS] },
    { name: tables.authMethods, key: ['user_id', 'method_type'], columns: [...AUTH_METHOD_COLUMNS] },
  ];
}

const unqualified = (table: string) => table.slice(table.indexOf('.') + 1);

/**
 * Creates a set of empty user tables: the shape of migration 0001, under other names. A change
 * of shape is made here (and in a migration for version 1), then rolled out with a replay.
 */
export async function createUserTables(db: Kysely<any>, tables: UserTables): Promise<void> {
  await sql`create schema if not exists projections`.execute(db);
  await sql`
    create table ${sql.table(tables.users)} (
      id text primary key,
      org_id text not null,
      username text not null,
      kind text not null,
      state text not null default 'active',
      given_name text,
      family_name text,
      display_name text,
      nick_name text,
      preferred_language text,
      email text,
      email_verified boolean not null default false,
      otp_email boolean not null default false,
      machine_name text,
      machine_description text,
      sequence integer not null,
      change_date timestamptz not null,
      creation_date timestamptz not null
    )`.execute(db);
  await sql`create index ${sql.id(`${unqualified(tables.users)}_org_id`)} on ${sql.table(tables.users)} (org_id)`.execute(db);
  await sql`
    create table ${sql.table(tables.authMethods)} (
      user_id text not null,
      method_type text not null,
      sequence integer not null,
      change_date timestamptz not null,
      primary key (user_id, method_type)
    )`.execute(db);
}

export async function dropUserTables(db: Kysely<any>, tables: UserTables): Promise<void> {
  await sql`drop table if exists ${sql.table(tables.authMethods)}`.execute(db);
  await sql`drop table if exists ${sql.table(tables.users)}`.execute(db);
}

/**
 * users: one row per user. `sequence` and `change_date` are those of the last event reduced
 * for the user (details on read); `state` is 'active' or 'locked'; `kind` 'human' or
 * 'machine'. No check constraints on values: a read model must never refuse an event, and new
 * states should not need a migration.
 *
 * user_auth_methods: one row per READY factor (`method_type` 'OTP_EMAIL' today), so other
 * factor types fit without a change of shape.
 */
export const userProjectionMigrations: Record<string, Migration> = {
  '0001_users': {
    async up(db) {
      await sql`create schema if not exists projections`.execute(db);
      await sql`
        create table projections.users (
          id text primary key,
          org_id text not null,
          username text not null,
          kind text not null,
          state text not null default 'active',
          given_name text,
          family_name text,
          display_name text,
          nick_name text,
          preferred_language text,
          email text,
          email_verified boolean not null default false,
          otp_email boolean not null default false,
          machine_name text,
          machine_description text,
          sequence integer not null,
          change_date timestamptz not null,
          creation_date timestamptz not null
        )`.execute(db);
      await sql`create index users_org_id on projections.users (org_id)`.execute(db);
      await sql`
        create table projections.user_auth_methods (
          user_id text not null,
          method_type text not null,
          sequence integer not null,
          change_date timestamptz not null,
          primary key (user_id, method_type)
        )`.execute(db);
    },
    async down(db) {
      await sql`drop table projections.user_auth_methods`.execute(db);
      await sql`drop table projections.users`.execute(db);
    },
  },
};
