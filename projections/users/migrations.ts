import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The user read model's migrations, in history table `projection_users_migrations`. They run
 * forward only, at start-up, on databases that already hold rows: each one is written out as
 * it ran and never changes afterwards (deployed databases hold what it made). The table
 * declarations in schema.ts describe the latest shape; a replay's tables are made from them.
 */

/** Every version's `users` table: version 1's and each replay's `users_v<N>` (kept or half built). */
async function usersTablesOfEveryVersion(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'projections' and (table_name = 'users' or table_name ~ '^users_v[0-9]+$')
    order by table_name`.execute(db);
  return rows.map((r) => `projections.${r.table_name}`);
}

export const userProjectionMigrations: Record<string, Migration> = {
  // Version 1's tables.
  '0001_users': {
    async up(db) {
      await sql`create schema if not exists projections`.execute(db);
      await sql`
        create table projections.users (
          id text not null,
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
          creation_date timestamptz not null,
          primary key (id)
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
  // The profile's gender (null: unspecified). No user event carried a gender before this
  // column existed, so null is the right value for every existing row and no replay is needed.
  // Every version's table gets it (not only version 1's): the active version may be a replay's,
  // and a kept or half-built one may become active.
  '0002_users_gender': {
    async up(db) {
      for (const table of await usersTablesOfEveryVersion(db)) {
        await sql`alter table ${sql.table(table)} add column if not exists gender text`.execute(db);
      }
    },
    async down(db) {
      for (const table of await usersTablesOfEveryVersion(db)) {
        await sql`alter table ${sql.table(table)} drop column if exists gender`.execute(db);
      }
    },
  },
};
