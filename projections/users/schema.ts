import { sql, type Migration } from 'kysely';

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
