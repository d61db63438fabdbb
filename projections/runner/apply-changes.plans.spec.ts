import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import type { RecordedEvent } from '#eventstore';
import { describeWhen } from '#test-kit';
import { applyChangesBatched, type ChangeReducer } from './apply-changes.js';
import { column, defineReadModel, defineTable, TableNames } from './read-model.js';

const people = defineTable('people', {
  columns: { id: column.text(), sequence: column.integer(), name: column.text() },
  key: ['id'],
  sequence: 'sequence',
});
const methods = defineTable('methods', {
  columns: { person_id: column.text(), kind: column.text(), sequence: column.integer(), state: column.text() },
  key: ['person_id', 'kind'],
  sequence: 'sequence',
});
const model = defineReadModel('plans', [people, methods]);
const names = new TableNames(model, { version: 1 });

/** Every kind of change the batch fold writes: inserts, updates (of both tables) and deletes. */
const reducers: Record<string, ChangeReducer> = {
  renamed: (e) => [people.update({ id: e.data['id'] as string }, { sequence: e.sequence, name: e.data['name'] as string })],
  added: (e) => [methods.insert({ person_id: e.data['id'] as string, kind: 'otp', sequence: e.sequence, state: 'ready' })],
  changed: (e) => [methods.update({ person_id: e.data['id'] as string, kind: 'mail' }, { sequence: e.sequence, state: 'changed' })],
  removed: (e) => [methods.delete({ person_id: e.data['id'] as string, kind: 'mail' }), people.delete({ id: e.data['id'] as string })],
};

const event = (type: string, id: string, sequence: number, data: Record<string, unknown> = {}): RecordedEvent =>
  ({ type, stream: `person-${id}`, sequence, data: { id, ...data }, metadata: {}, position: '', id: `${type}-${id}`, createdAt: new Date() }) as unknown as RecordedEvent;

const ROWS = 20_000;

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'the batch fold on server PostgreSQL: plans', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let pool: pg.Pool;
  let db: Kysely<any>;
  const statements: CompiledQuery[] = [];

  beforeAll(async () => {
    scratch = await createScratchDatabase('plans');
    pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
    await sql`create schema plans`.execute(db);
    await sql`create table plans.people (id text primary key, sequence integer not null, name text not null)`.execute(db);
    await sql`create table plans.methods (person_id text not null, kind text not null, sequence integer not null, state text not null, primary key (person_id, kind))`.execute(db);
    // Tables of some size, so that reading all of them is a plan PostgreSQL could choose.
    await sql`insert into plans.people select g::text, 1, 'p' || g from generate_series(1, ${ROWS}::int) g`.execute(db);
    await sql`insert into plans.methods select g::text, 'mail', 1, 'new' from generate_series(1, ${ROWS}::int) g`.execute(db);
    await sql`analyze plans.people`.execute(db);
    await sql`analyze plans.methods`.execute(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await scratch?.drop();
  });

  it('finds a batch of rows through the keys, never by reading whole tables, and writes what the fold says', async () => {
    statements.length = 0;
    const events = [
      event('renamed', '5', 2, { name: 'five' }),
      event('added', '6', 2),
      event('changed', '7', 2),
      event('renamed', '8', 2, { name: 'eight' }),
      event('removed', '9', 2),
    ];
    await db.transaction().execute((trx) => applyChangesBatched(trx, names, events, reducers));

    const written = statements.filter((s) => !/^(begin|commit)$/i.test(s.sql.trim()));
    expect(new Set(written.map((s) => s.sql.trim().split(/\s+/)[0]!.toLowerCase()))).toEqual(new Set(['select', 'insert', 'update', 'delete']));
    const client = await pool.connect();
    try {
      for (const statement of written) {
        const { rows } = await client.query(`explain (format json) ${statement.sql}`, statement.parameters as unknown[]);
        const plan = JSON.stringify(rows[0]['QUERY PLAN']);
        expect([statement.sql, plan.includes('"Seq Scan"')]).toEqual([statement.sql, false]);
      }
    } finally {
      client.release();
    }

    expect((await sql<{ id: string; name: string }>`select id, name from plans.people where id in ('5', '8', '9') order by id`.execute(db)).rows).toEqual([
      { id: '5', name: 'five' },
      { id: '8', name: 'eight' },
    ]);
    expect((await sql`select person_id, kind, state from plans.methods where person_id in ('6', '7', '9') order by 1, 2`.execute(db)).rows).toEqual([
      { person_id: '6', kind: 'mail', state: 'new' },
      { person_id: '6', kind: 'otp', state: 'ready' },
      { person_id: '7', kind: 'mail', state: 'changed' },
    ]);
  });
});
