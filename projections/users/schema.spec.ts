import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { sql, type Kysely } from 'kysely';
import { describeWhen } from '#test-kit';
import { migrateProjections } from '#projections/runner';
import { backends, type TestStores } from '#projections/testing';
import { USER_PROJECTION_HISTORY, userProjectionMigrations } from './schema.js';
import { userProjections } from './user-projection.js';

/**
 * Version 1's tables as migration 0001 made them when it was first written out by hand: what
 * every database deployed before migration 0002 holds. 0001 must keep making exactly this.
 */
const pinnedVersion1 = (schema: string) => [
  `create schema ${schema}`,
  `create table ${schema}.users (
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
  )`,
  `create index users_org_id on ${schema}.users (org_id)`,
  `create table ${schema}.user_auth_methods (
    user_id text not null,
    method_type text not null,
    sequence integer not null,
    change_date timestamptz not null,
    primary key (user_id, method_type)
  )`,
];

/** Columns, constraints and indexes of the tables `users` and `user_auth_methods` of a schema, as the catalog has them. */
async function shape(db: Kysely<object>, schema: string, suffix = '') {
  const tables = [`users${suffix}`, `user_auth_methods${suffix}`];
  const columns = await sql`
    select table_name, ordinal_position, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = ${schema} and table_name = any(${tables})
    order by table_name, ordinal_position`.execute(db);
  const constraints = await sql`
    select c.relname as table_name, k.conname, k.contype, pg_get_constraintdef(k.oid) as def
    from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${tables}) order by 1, 2`.execute(db);
  const indexes = await sql<{ indexdef: string }>`
    select tablename, indexname, indexdef from pg_indexes where schemaname = ${schema} and tablename = any(${tables}) order by 1, 2`.execute(db);
  const unsuffixed = (value: unknown) => (typeof value === 'string' && suffix ? value.split(suffix).join('') : value);
  const normalize = (rows: Array<Record<string, unknown>>) =>
    rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? unsuffixed(v.split(`${schema}.`).join('S.')) : v])));
  return { columns: normalize(columns.rows as Array<Record<string, unknown>>), constraints: normalize(constraints.rows as Array<Record<string, unknown>>), indexes: normalize(indexes.rows) };
}

/** Migration 0001 alone: what every database deployed before 0002 holds. */
const only0001 = { historyTable: USER_PROJECTION_HISTORY, migrations: { '0001_users': userProjectionMigrations['0001_users']! } };

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `user read model tables on ${backend.label}`, () => {
    let stores: TestStores;
    const pinned = `pinned_v1_${Math.random().toString(36).slice(2, 8)}`;

    beforeEach(async () => {
      stores = await backend.open();
    });
    afterEach(async () => {
      await sql`drop schema if exists ${sql.id(pinned)} cascade`.execute(stores.database.db).catch(() => undefined);
      await stores.cleanup();
    });

    it('migration 0001 makes version 1 exactly as the hand-written migration did: names, types, nulls, defaults, keys, indexes', async () => {
      const db = stores.database.db;
      for (const statement of pinnedVersion1(pinned)) await sql.raw(statement).execute(db);
      await migrateProjections(db, only0001);
      const expected = await shape(db, pinned);
      expect(expected.columns).toHaveLength(22);
      expect(await shape(db, 'projections')).toEqual(expected);
    });

    it('migration 0002 appends the nullable gender column to version 1; nothing else changes', async () => {
      const db = stores.database.db;
      for (const statement of pinnedVersion1(pinned)) await sql.raw(statement).execute(db);
      await sql.raw(`alter table ${pinned}.users add column gender text`).execute(db);
      await migrateProjections(db, userProjections);
      const expected = await shape(db, pinned);
      expect(expected.columns).toHaveLength(23);
      expect(expected.columns.at(-1)).toMatchObject({ table_name: 'users', column_name: 'gender', data_type: 'text', is_nullable: 'YES', column_default: null });
      expect(await shape(db, 'projections')).toEqual(expected);
    });

    it('migration 0002 on a database with rows and a replay\'s version: every version\'s users table gets gender, null in the rows it holds', async () => {
      const db = stores.database.db;
      await migrateProjections(db, only0001);
      // A replay's version 7, made by the build before 0002 (the same shape as version 1 then).
      await sql`create table projections.users_v7 (like projections.users including all)`.execute(db);
      for (const table of ['projections.users', 'projections.users_v7']) {
        await sql`
          insert into ${sql.table(table)} (id, org_id, username, kind, sequence, change_date, creation_date)
          values ('200000000000000001', 'org-1', 'ada', 'human', 3, '2026-01-02T03:04:05Z', '2026-01-01T00:00:00Z')`.execute(db);
      }
      try {
        expect(await migrateProjections(db, userProjections)).toEqual(['projection_users/0002_users_gender']);
        for (const table of ['projections.users', 'projections.users_v7']) {
          const { rows } = await sql<Record<string, unknown>>`select id, username, sequence, gender from ${sql.table(table)}`.execute(db);
          expect(rows).toEqual([{ id: '200000000000000001', username: 'ada', sequence: 3, gender: null }]);
        }
        // The migrated replay version has the columns a replay makes now.
        const columnsOf = async (table: string) =>
          (await sql<{ column_name: string; data_type: string; is_nullable: string }>`
            select column_name, data_type, is_nullable from information_schema.columns
            where table_schema = 'projections' and table_name = ${table} order by ordinal_position`.execute(db)).rows;
        await userProjections.createTables(db, { version: 8 });
        expect(await columnsOf('users_v7')).toEqual(await columnsOf('users_v8'));
      } finally {
        await sql`drop table if exists projections.users_v7`.execute(db);
        await userProjections.dropTables(db, { version: 8 });
      }
    });

    it('a replay version and a scratch set have the same shape as the migrated version 1, under their own names', async () => {
      const db = stores.database.db;
      await migrateProjections(db, userProjections);
      const expected = await shape(db, 'projections');
      await userProjections.createTables(db, { version: 7 });
      await userProjections.createTables(db, { scratch: 'shape_check' });
      try {
        expect(await shape(db, 'projections', '_v7')).toEqual(expected);
        expect(await shape(db, 'projections', '_shape_check')).toEqual(expected);
        expect(userProjections.tables(7)).toEqual([
          { name: 'projections.users_v7', key: ['id'], columns: (expected.columns.filter((c) => c['table_name'] === 'users').map((c) => c['column_name'])) },
          { name: 'projections.user_auth_methods_v7', key: ['user_id', 'method_type'], columns: ['user_id', 'method_type', 'sequence', 'change_date'] },
        ]);
      } finally {
        await userProjections.dropTables(db, { version: 7 });
        await userProjections.dropTables(db, { scratch: 'shape_check' });
      }
    });
  });
}
