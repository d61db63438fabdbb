import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import pg from 'pg';
import { migrate, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { START } from '../event-store.js';
import { connectTestStores, eventStoreContract, watchPostgresLooks } from '#eventstore/testing';
import { describeWhen, eventually } from '#test-kit';
import { LOOK_STATEMENT, PostgresEventStore } from './postgres-event-store.js';
import { EVENT_STORE_HISTORY, eventStoreMigrations } from './schema.js';

async function openScratchStore(beforeCommit?: (stream: string) => Promise<void>) {
  const scratch = await createScratchDatabase('eventstore');
  const database = openServerDatabase({ connectionString: scratch.url, maxConnections: 60 });
  await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  const store = new PostgresEventStore(database, beforeCommit ? { beforeCommit } : {});
  return {
    url: scratch.url,
    database,
    store,
    cleanup: async () => {
      await store.close();
      await database.close();
      await scratch.drop();
    },
  };
}

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'PostgresEventStore on server PostgreSQL', () => {
  eventStoreContract('PostgresEventStore on server PostgreSQL', async () => {
    const stores = await openScratchStore();
    return { ...stores, watchLooks: () => watchPostgresLooks(stores.database) };
  });

  describe('prepared statements', () => {
    let subject: Awaited<ReturnType<typeof openScratchStore>>;
    beforeAll(async () => {
      subject = await openScratchStore();
    });
    afterAll(() => subject?.cleanup());

    it('prepares the reads and the append of every request on the connection, and reads all with any limit', async () => {
      const { url } = subject;
      // One connection, so that what it has prepared can be asked of it.
      const database = openServerDatabase({ connectionString: url, maxConnections: 1 });
      const store = new PostgresEventStore(database);
      try {
        await store.append('prepared-1', [{ type: 'a', data: {} }, { type: 'b', data: {} }], 'no_stream');
        await store.append('prepared-1', [{ type: 'c', data: {} }], 2);
        expect((await store.readStream('prepared-1')).map((e) => e.type)).toEqual(['a', 'b', 'c']);
        // A write transaction another suite holds open on the server holds readers back until it
        // ends (transaction ids are the server's); once past it, these events stay readable.
        await eventually(async () => expect(await store.readAll({ limit: 2 })).toHaveLength(2));
        await store.headPosition();
        const prepared = await database.run<{ name: string }>({ text: 'select name from pg_prepared_statements order by name' }, []);
        expect(prepared.map((p) => p.name)).toEqual(expect.arrayContaining(['eventstore_append', 'eventstore_head', 'eventstore_read_all_2', 'eventstore_read_stream']));

        // More distinct limits than are prepared: the rest are sent unprepared, with the same answers.
        for (let limit = 1; limit <= 40; limit++) expect(await store.readAll({ limit })).toHaveLength(Math.min(limit, 3));
      } finally {
        await store.close();
        await database.close();
      }
    });
  });

  describe('the look of a waiting reader', () => {
    let subject: Awaited<ReturnType<typeof openScratchStore>>;
    beforeAll(async () => {
      subject = await openScratchStore();
    });
    afterAll(() => subject?.cleanup());

    it('reads the first index entry past the position, never the whole log, in the plan PostgreSQL keeps for it', async () => {
      // A log of some size, so that a scan of it is a plan PostgreSQL could choose.
      await sql`insert into eventstore.events (stream, sequence, type, data, metadata, created_at)
                select 'bulk-' || g, 1, 'bulk', '{}', '{}', now() from generate_series(1, 20000) g`.execute(subject.database.db);
      await sql`analyze eventstore.events`.execute(subject.database.db);
      const client = new pg.Client({ connectionString: subject.url });
      await client.connect();
      try {
        // The plan a prepared statement settles on after its first calls: the generic one.
        await client.query('set plan_cache_mode = force_generic_plan');
        await client.query(`prepare look(xid8, bigint) as ${LOOK_STATEMENT.text}`);
        for (const args of ["'0', 0", "'18446744073709551615', 9223372036854775807"]) {
          const { rows } = await client.query(`explain (format json) execute look(${args})`);
          const plan = JSON.stringify(rows[0]['QUERY PLAN']);
          expect(plan).not.toContain('Seq Scan');
          expect(plan.match(/"Index Only Scan"|"Index Scan"/g)).toHaveLength(2);
        }
      } finally {
        await client.end();
      }
    });
  });

  describe('out-of-order commits', () => {
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const releaseGate = new Promise<void>((resolve) => (release = resolve));
    let subject: Awaited<ReturnType<typeof openScratchStore>>;

    beforeAll(async () => {
      subject = await openScratchStore(async (stream) => {
        if (!stream.startsWith('slow')) return;
        held();
        await releaseGate;
      });
    });
    afterAll(async () => {
      release();
      await subject?.cleanup();
    });

    it('never lets a reader pass a transaction that is still open, then shows both once it commits', async () => {
      const { store } = subject;
      await store.append('warm-up', [{ type: 'warm', data: {} }], 'no_stream');
      const from = await store.headPosition();

      // The slow append has inserted its row and holds its transaction open...
      const slow = store.append('slow-1', [{ type: 'slow', data: {} }], 'no_stream');
      await isHeld;
      // ...while a later append commits first.
      const fast = await store.append('fast-1', [{ type: 'fast', data: {} }], 'no_stream');

      expect(await store.headPosition()).toBe(fast.events[0]!.position);
      // The reader must not get past the open transaction: it sees neither event yet.
      expect(await store.readAll({ after: from })).toEqual([]);

      release();
      const slowResult = await slow;
      expect(slowResult.events[0]!.position < fast.events[0]!.position).toBe(true);

      // A write transaction open elsewhere on the server (another suite's) holds readers back
      // as well: wait until both are readable.
      const after = await eventually(async () => {
        const after = await store.readAll({ after: from });
        expect(after.map((e) => e.type)).toEqual(['slow', 'fast']);
        return after;
      });
      expect(after.map((e) => e.position)).toEqual([slowResult.events[0]!.position, fast.events[0]!.position]);
      expect(await store.readAll({ after: after[1]!.position })).toEqual([]);
    });

    it('wakes a held-back reader when the transaction that held it back ends, even if that commit notifies nobody', async () => {
      const { store } = subject;
      const from = await store.headPosition();
      // Any write transaction on the server holds readers back, not only appends.
      const blocker = new pg.Client({ connectionString: subject.url });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('select pg_current_xact_id()');
        await store.append('held-1', [{ type: 'held', data: {} }], 'no_stream');
        expect(await store.readAll({ after: from })).toEqual([]);

        const watch = watchPostgresLooks(subject.database);
        const woke = store.waitForEvents(from, { timeoutMs: 60_000 }).then(() => 'woke');
        // A second look means the first found nothing readable while an event past `from` had
        // committed: the waiter is in its held-back re-checks, and the commit below happens
        // while it waits.
        await eventually(() => expect(watch.looks().length).toBeGreaterThanOrEqual(2));
        expect(await watch.looks()[0]).toEqual([{ readable: false, beyond: true }]);
        watch.stop();
        await blocker.query('commit'); // no NOTIFY: nothing but the reader's own re-check can see this
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise((resolve) => (timer = setTimeout(() => resolve('gave up'), 10_000)));
        expect(await Promise.race([woke, gaveUp])).toBe('woke');
        clearTimeout(timer);
        expect((await store.readAll({ after: from })).map((e) => e.type)).toEqual(['held']);
      } finally {
        await blocker.end();
      }
    });

    it('wakes a reader in another process through NOTIFY', async () => {
      // A second pool and store on the same database share nothing in memory with the first,
      // as a second process would not.
      const { store: otherStore, database: otherDatabase, cleanup } = connectTestStores(subject.url, { maxConnections: 2 });
      try {
        const from = await otherStore.headPosition();
        const watch = watchPostgresLooks(otherDatabase);
        const woke = otherStore.waitForEvents(from, { timeoutMs: 60_000 }).then(() => 'woke');
        // The waiter LISTENs, then looks at the log (nothing to read, nothing past `from`):
        // once that look is done, only NOTIFY can wake it.
        await eventually(() => expect(watch.looks()).toHaveLength(1));
        expect(await watch.looks()[0]).toEqual([{ readable: false, beyond: false }]);
        watch.stop();
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise((resolve) => (timer = setTimeout(() => resolve('gave up'), 10_000)));
        await subject.store.append('notify-1', [{ type: 'ping', data: {} }], 'no_stream');
        expect(await Promise.race([woke, gaveUp])).toBe('woke');
        clearTimeout(timer);
      } finally {
        await cleanup();
      }
    });
  });
});
