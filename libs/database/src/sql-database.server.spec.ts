import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { describeWhen } from '#test-kit';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from './testing/index.js';
import { cachedRowShape } from './prepared-query.js';
import { openServerDatabase, preparedStatement, type SqlDatabase } from './sql-database.js';

/** A PostgreSQL type oid, as pg's typings name it. */
type TypeId = Parameters<typeof pg.types.setTypeParser>[0];

const TYPED_ROW = `select 7::int as n, 9007199254740993::bigint as big, 'text'::text as t, null::text as nothing,
  '{"a":[1,"b"]}'::jsonb as j, true as flag, '2026-12-02 15:55:52.123456+00'::timestamptz as at,
  '0a1b2c3d-0000-4000-8000-000000000001'::uuid as id, $1::text as echoed`;

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'SqlDatabase.run on server PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: SqlDatabase;
  let raw: pg.Client;

  beforeAll(async () => {
    scratch = await createScratchDatabase('sqldb');
    // One connection: a failed statement must hand it back, or the next one would wait forever.
    database = openServerDatabase({ connectionString: scratch.url, maxConnections: 1 });
    raw = new pg.Client({ connectionString: scratch.url });
    await raw.connect();
  });
  afterAll(async () => {
    await raw?.end();
    await database?.close();
    await scratch?.drop();
  });

  it('gives a prepared statement the rows pg gives the same statement, on every call', async () => {
    const statement = preparedStatement('spec_typed_row', TYPED_ROW);
    const expected = (await raw.query(TYPED_ROW, ['x'])).rows;
    for (const echoed of ['x', 'x']) {
      const rows = await database.run<Record<string, unknown>>(statement, [echoed]);
      expect(rows).toEqual(expected);
      expect(Object.keys(rows[0]!)).toEqual(Object.keys(expected[0]));
    }
    expect(expected[0]).toMatchObject({ n: 7, big: '9007199254740993', nothing: null, j: { a: [1, 'b'] }, flag: true });
    expect(expected[0].at).toEqual(new Date('2026-12-02T15:55:52.123Z'));
  });

  it('keeps one row shape per statement whichever pooled connection runs it', async () => {
    const pooled = openServerDatabase({ connectionString: scratch.url, maxConnections: 4 });
    try {
      const statement = preparedStatement('spec_pooled', 'select $1::int as n');
      expect(await pooled.run(statement, [0])).toEqual([{ n: 0 }]);
      const shape = cachedRowShape('spec_pooled');
      expect(shape).toBeDefined();
      // Eight at once on four connections: every connection runs it, and none makes its own shape.
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => pooled.run(statement, [i])));
      expect(answers).toEqual(Array.from({ length: 8 }, (_, i) => [{ n: i }]));
      const connections = await pooled.run<{ n: number }>({ text: "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'otp-email-identity'" }, []);
      expect(connections[0]!.n).toBeGreaterThan(1);
      expect(cachedRowShape('spec_pooled')).toBe(shape);
    } finally {
      await pooled.close();
    }
  });

  it('names columns as pg does, odd names included', async () => {
    const text = `select 1 as "__proto__", 2 as "a""b", 3 as "x", 4 as "x", 5 as "constructor", 6 as "}; throw 1; ({"`;
    const expected = (await raw.query(text)).rows[0];
    const [row] = await database.run<Record<string, unknown>>(preparedStatement('spec_odd_names', text), []);
    expect(row).toEqual(expected);
    expect(Object.getOwnPropertyNames(row)).toEqual(Object.getOwnPropertyNames(expected));
    expect(Object.getPrototypeOf(row)).toBe(Object.getPrototypeOf(expected));
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe(1);
    expect(row!['x']).toBe(4);
  });

  it('gives every row of a result its own values, and no row when there is none', async () => {
    const statement = preparedStatement('spec_series', 'select g as n, g::text || $1 as label from generate_series(1, $2::int) g');
    expect(await database.run(statement, ['!', 3])).toEqual([
      { n: 1, label: '1!' },
      { n: 2, label: '2!' },
      { n: 3, label: '3!' },
    ]);
    expect(await database.run(statement, ['!', 0])).toEqual([]);
  });

  it('follows a change of the columns a name returns (a migration between two connections)', async () => {
    await raw.query('create table spec_changing (a int)');
    await raw.query('insert into spec_changing values (1)');
    const statement = preparedStatement('spec_changing_all', 'select * from spec_changing');
    expect(await database.run(statement, [])).toEqual([{ a: 1 }]);
    await raw.query(`alter table spec_changing add column b text default 'added'`);
    // A connection that prepared the statement before the change refuses it ("cached plan must
    // not change result type"); a new connection prepares it anew, with the new columns.
    const fresh = openServerDatabase({ connectionString: scratch.url, maxConnections: 1 });
    try {
      expect(await fresh.run(statement, [])).toEqual([{ a: 1, b: 'added' }]);
    } finally {
      await fresh.close();
    }
  });

  it('rejects a failing statement with the server error and hands the connection back', async () => {
    const statement = preparedStatement('spec_divide', 'select 1 / $1::int as q');
    await expect(database.run(statement, [0])).rejects.toMatchObject({ code: '22012' });
    expect(await database.run(statement, [1])).toEqual([{ q: 1 }]);
  });

  it('rejects a value its type parser refuses, once, and the connection stays usable', async () => {
    // A parser that throws stands in for a value the driver cannot read: none of pg's own does
    // for well-formed server output. The type is one no other statement here returns.
    const POINT = 600 as TypeId;
    const original = pg.types.getTypeParser(POINT, 'text');
    pg.types.setTypeParser(POINT, () => {
      throw new Error('unreadable point');
    });
    const statement = preparedStatement('spec_point', 'select point(1, 2) as p');
    try {
      await expect(database.run(statement, [])).rejects.toThrow('unreadable point');
    } finally {
      pg.types.setTypeParser(POINT, original);
    }
    expect(await database.run(statement, [])).toEqual([{ p: { x: 1, y: 2 } }]);
  });

  it('parses with the type parser of the moment, as pg does for every result', async () => {
    const BOX = 603 as TypeId;
    const original = pg.types.getTypeParser(BOX, 'text');
    const statement = preparedStatement('spec_box', `select box(point(0, 0), point(1, 1)) as b`);
    try {
      pg.types.setTypeParser(BOX, () => 'first');
      expect(await database.run(statement, [])).toEqual([{ b: 'first' }]);
      pg.types.setTypeParser(BOX, () => 'second');
      expect(await database.run(statement, [])).toEqual([{ b: 'second' }]);
    } finally {
      pg.types.setTypeParser(BOX, original);
    }
  });

  describe('a statement without a name', () => {
    it('is sent as it is, parameters and all', async () => {
      expect(await database.run({ text: 'select $1::int + 1 as next' }, [41])).toEqual([{ next: 42 }]);
    });
  });
});
