import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { sql, type Migration } from 'kysely';
import { capturingLogger } from '#logging/testing';
import { testBackends, type TestStores } from '#eventstore/testing';
import { START, type AppendedEvent, type RecordedEvent } from '#eventstore';
import { checkpointPassed, describeWhen, eventually } from '#test-kit';
import { CheckpointedConsumer, readCheckpoint, type Batch, type CheckpointedConsumerOptions } from './index.js';

const TABLE = 'consumer_test.checkpoints';

const migrations: Record<string, Migration> = {
  '0001': {
    async up(db) {
      await sql`create schema consumer_test`.execute(db);
      await sql`create table consumer_test.checkpoints (name text primary key, position text not null default '', owner text, lease_until timestamptz, updated_at timestamptz not null default now())`.execute(db);
      await sql`create table consumer_test.handled (position text primary key, by text not null, times int not null)`.execute(db);
    },
  },
};

for (const backend of testBackends('consumer')) {
  describeWhen(backend.available, backend.reason, `CheckpointedConsumer on ${backend.label}`, () => {
    let stores: TestStores;
    let consumers: CheckpointedConsumer[];

    beforeEach(async () => {
      stores = await backend.open({ consumer_test: migrations });
      consumers = [];
    });
    afterEach(async () => {
      for (const c of consumers) await c.stop();
      await stores.cleanup();
    });

    /** Records every event it handles, in the checkpoint's transaction; `times` shows a double. `froms`: where each batch started. */
    function consumer(by: string, options: Partial<CheckpointedConsumerOptions> = {}, froms: string[] = []): CheckpointedConsumer {
      const handler = async (batch: Batch) => {
        froms.push(batch.from);
        await batch.commit(batch.events.at(-1)!.position, async (trx) => {
          for (const e of batch.events) {
            await sql`insert into consumer_test.handled (position, by, times) values (${e.position}, ${by}, 1)
                      on conflict (position) do update set times = consumer_test.handled.times + 1`.execute(trx);
          }
        });
      };
      const c = new CheckpointedConsumer({
        store: stores.store,
        db: stores.database.db,
        logger: capturingLogger().logger,
        label: by,
        table: { table: TABLE },
        checkpointName: 'test',
        handler,
        idleTimeoutMs: 200,
        retryDelayMs: 20,
        ...options,
      });
      consumers.push(c);
      return c;
    }

    async function append(count: number): Promise<AppendedEvent[]> {
      const out: AppendedEvent[] = [];
      for (let i = 0; i < count; i++) out.push(...(await stores.store.append(`s-${i % 3}`, [{ type: 'ok', data: { i } }], 'any')).events);
      return out;
    }

    async function handled() {
      const { rows } = await sql<{ position: string; by: string; times: number }>`select position, by, times from consumer_test.handled order by position`.execute(stores.database.db);
      return rows;
    }

    it('two consumers of one checkpoint never handle an event twice (compare-and-set)', async () => {
      const events = await append(12);
      const a = consumer('a', { batchSize: 2 });
      const b = consumer('b', { batchSize: 2 });
      a.start();
      b.start();
      await checkpointPassed(a, events.at(-1)!.position);
      await checkpointPassed(b, events.at(-1)!.position);
      const rows = await handled();
      expect(rows.map((r) => r.position)).toEqual(events.map((e) => e.position));
      expect(rows.every((r) => r.times === 1)).toBe(true);
    });

    it('a commit with nothing to write still compares and sets: a checkpoint moved under the batch is not overwritten', async () => {
      const events = await append(3);
      const froms: string[] = [];
      let moveUnderFirstBatch = true;
      const c = consumer('c', {
        handler: async (batch) => {
          froms.push(batch.from);
          if (moveUnderFirstBatch) {
            moveUnderFirstBatch = false;
            // Another process commits the first two events while this batch is in hand.
            await sql`update consumer_test.checkpoints set position = ${events[1]!.position} where name = 'test'`.execute(stores.database.db);
          }
          await batch.commit(batch.events.at(-1)!.position);
        },
      });
      expect(await c.catchUp()).toBe(events[2]!.position);
      expect(froms).toEqual([START, events[1]!.position]);
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[2]!.position);
    });

    it('live: a batch after its own commit starts there without reading the row; a rewind meanwhile is caught by the compare-and-set and read again', async () => {
      const first = await append(2);
      const froms: string[] = [];
      const c = consumer('live', {}, froms);
      c.start();
      await checkpointPassed(c, first[1]!.position);
      // Another process (an operator's rewind) sets the row back while the consumer is idle.
      await sql`update consumer_test.checkpoints set position = ${first[0]!.position} where name = 'test'`.execute(stores.database.db);
      const more = await append(1);
      await checkpointPassed(c, more[0]!.position);
      // The first live batch after the rewind started from this consumer's own commit, found the
      // row moved, and the next one read the row and went on from the rewound position. Or, when
      // that batch found nothing yet (the append not yet readable: another transaction of the
      // server still open), it let go of its own commit and the next batch read the row at once.
      expect([[first[1]!.position, first[0]!.position], [first[0]!.position]]).toContainEqual(froms.slice(1));
      expect((await handled()).map((r) => [r.position, r.times])).toEqual([
        [first[0]!.position, 1],
        [first[1]!.position, 2],
        [more[0]!.position, 1],
      ]);
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(more[0]!.position);
    });

    it('live: events appended during the pause after a batch that read the store dry are read as one batch', async () => {
      const first = await append(1);
      const froms: string[] = [];
      const c = consumer('gather', { gatherMs: 1_000 }, froms);
      c.start();
      await checkpointPassed(c, first[0]!.position);
      const more = await append(3);
      await checkpointPassed(c, more[2]!.position);
      expect(froms).toEqual([START, first[0]!.position]);
      expect((await handled()).map((r) => r.position)).toEqual([...first, ...more].map((e) => e.position));
    });

    it('Given a wake-up while a batch is in hand, When the batch is done, Then the next batch runs at once, not after the idle wait', async () => {
      const first = await append(1);
      let batches = 0;
      let wokeDuringBatch = false;
      const c = consumer('woken', {
        gatherMs: 0,
        idleTimeoutMs: 60_000,
        beforeBatch: async () => {
          batches++;
        },
        handler: async (batch) => {
          // The wake-up comes while the consumer is busy (as a query's after a version switch).
          if (!wokeDuringBatch) {
            wokeDuringBatch = true;
            c.wake();
          }
          await batch.commit(batch.events.at(-1)!.position);
        },
      });
      c.start();
      await checkpointPassed(c, first[0]!.position);
      // Without the wake-up the consumer would now wait up to the idle time-out (60 s).
      await eventually(() => expect(batches).toBeGreaterThanOrEqual(2));
    });

    /** One event per batch, and the next batch at once: each pass or commit is its own step. */
    const oneByOne = { batchSize: 1, gatherMs: 0 };

    /** Passes every batch; records where each batch started and what the row held then. */
    function passing(by: string, options: Partial<CheckpointedConsumerOptions> = {}, seen: Array<{ from: string; row: string }> = []): CheckpointedConsumer {
      return consumer(by, {
        handler: async (batch) => {
          seen.push({ from: batch.from, row: await readCheckpoint(stores.database.db, TABLE, 'test') });
          await batch.pass(batch.events.at(-1)!.position);
        },
        ...options,
      });
    }

    it('Given a batch it only passed, When more events come, Then it reads them after passGatherMs, and at once for someone waiting for its checkpoint', async () => {
      const first = await append(1);
      const idle = passing('idle', { passGatherMs: 60_000 });
      idle.start();
      await eventually(() => expect(idle.reached(first[0]!.position)).toBe(true));
      const more = await append(2);
      // A consumer that acts on events, on a checkpoint of its own, reads them within its 5 ms gathering.
      const acting = consumer('acting', { checkpointName: 'acting' });
      acting.start();
      await checkpointPassed(acting, more[1]!.position);
      expect(idle.checkpoint).toBe(first[0]!.position);
      // A waiter ends the pause (without it: 60 s, past this wait's 5 s).
      await checkpointPassed(idle, more[1]!.position, { timeoutMs: 5_000 });
    });

    it('Given a batch that committed writes, When more events come, Then the pause is gatherMs, not passGatherMs', async () => {
      const first = await append(1);
      const c = consumer('acting', { passGatherMs: 60_000 });
      c.start();
      await eventually(() => expect(c.reached(first[0]!.position)).toBe(true));
      const more = await append(2);
      // Polled, not waited for: a waiter would end any pause.
      await eventually(() => expect(c.reached(more[1]!.position)).toBe(true));
    });

    it('Given passes in the live loop, When batches follow each other, Then the checkpoint moves at once and the row stays unwritten within passSaveDelayMs', async () => {
      const events = await append(3);
      const seen: Array<{ from: string; row: string }> = [];
      const c = passing('pass', { ...oneByOne, passSaveDelayMs: 60_000 }, seen);
      c.start();
      await checkpointPassed(c, events[2]!.position);
      // Each batch started where the last pass left the checkpoint; the row stayed unwritten.
      expect(seen).toEqual([
        { from: START, row: START },
        { from: events[0]!.position, row: START },
        { from: events[1]!.position, row: START },
      ]);
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(START);
    });

    it('Given an unsaved pass, When no more events come, Then the row is saved passSaveDelayMs later', async () => {
      const events = await append(2);
      const c = passing('timer', { gatherMs: 0, passSaveDelayMs: 100 });
      c.start();
      await checkpointPassed(c, events[1]!.position);
      await eventually(async () => expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[1]!.position));
    });

    it('Given passes within passSaveDelayMs of each other, When the delay is 0, Then every pass is saved at once', async () => {
      const events = await append(3);
      const seen: Array<{ from: string; row: string }> = [];
      const c = passing('pass', { ...oneByOne, passSaveDelayMs: 0 }, seen);
      c.start();
      await checkpointPassed(c, events[2]!.position);
      expect(seen.map((s) => s.row)).toEqual([START, events[0]!.position, events[1]!.position]);
    });

    it('Given unsaved passes, When a batch commits writes, Then its compare-and-set expects the saved row and sets it past all of them', async () => {
      const events = await append(3);
      const froms: string[] = [];
      const c = consumer('mixed', {
        ...oneByOne,
        passSaveDelayMs: 60_000,
        handler: async (batch) => {
          froms.push(batch.from);
          const [event] = batch.events;
          if (event!.data['i'] !== 2) return batch.pass(event!.position);
          await batch.commit(event!.position, async (trx) => {
            await sql`insert into consumer_test.handled (position, by, times) values (${event!.position}, 'mixed', 1)`.execute(trx);
          });
        },
      });
      c.start();
      await checkpointPassed(c, events[2]!.position);
      // No batch was read again (a failed compare-and-set reads the row and starts over).
      expect(froms).toEqual([START, events[0]!.position, events[1]!.position]);
      expect((await handled()).map((r) => [r.position, r.times])).toEqual([[events[2]!.position, 1]]);
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[2]!.position);
    });

    it('Given an unsaved pass, When the consumer stops, Then the row is saved before it has stopped', async () => {
      const events = await append(3);
      let stopping: Promise<void> | undefined;
      const c = consumer('stops', {
        batchSize: 1,
        passSaveDelayMs: 60_000,
        handler: async (batch) => {
          stopping ??= c.stop();
          await batch.pass(batch.events.at(-1)!.position);
        },
      });
      c.start();
      await eventually(() => expect(stopping).toBeDefined());
      await stopping;
      expect(c.state).toBe('stopped');
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[0]!.position);
    });

    it('Given an unsaved pass, When the next batch fails for good, Then the row is saved where that batch began', async () => {
      const events = await append(2);
      const failure = new Error('a reducer that cannot go on');
      const c = consumer('fails', {
        ...oneByOne,
        passSaveDelayMs: 60_000,
        isFatal: (err) => err === failure,
        handler: async (batch) => {
          if (batch.events[0]!.position === events[1]!.position) throw failure;
          await batch.pass(batch.events[0]!.position);
        },
      });
      c.start();
      await eventually(() => expect(c.state).toBe('failed'));
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[0]!.position);
    });

    it('Given passes in catchUp, Then each is saved at once', async () => {
      const events = await append(2);
      const seen: Array<{ from: string; row: string }> = [];
      const c = passing('catch-up', { batchSize: 1, passSaveDelayMs: 60_000 }, seen);
      expect(await c.catchUp()).toBe(events[1]!.position);
      expect(seen.map((s) => s.row)).toEqual([START, events[0]!.position]);
      expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[1]!.position);
    });

    it('Given unsaved passes, When the row is rewound meanwhile, Then the save finds it moved and the consumer reads again from the row', async () => {
      const events = await append(3);
      const froms: string[] = [];
      let rewound = false;
      const c = consumer('rewound', {
        ...oneByOne,
        passSaveDelayMs: 200,
        handler: async (batch) => {
          froms.push(batch.from);
          const [event] = batch.events;
          // The first event is committed (the row holds it), the others passed.
          if (event!.position === events[0]!.position) return batch.commit(event!.position);
          // An operator's rewind lands after the commit, while the passes are unsaved.
          if (!rewound) {
            rewound = true;
            await sql`update consumer_test.checkpoints set position = '' where name = 'test'`.execute(stores.database.db);
          }
          await batch.pass(event!.position);
        },
      });
      c.start();
      await checkpointPassed(c, events[2]!.position);
      await eventually(async () => expect(froms).toHaveLength(6));
      // The save (passSaveDelayMs after the first pass) expected the committed row, found it
      // rewound, and the consumer read everything again from the row.
      expect(froms).toEqual([START, events[0]!.position, events[1]!.position, START, events[0]!.position, events[1]!.position]);
      await eventually(async () => expect(await readCheckpoint(stores.database.db, TABLE, 'test')).toBe(events[2]!.position));
    });

    it('with a lease only one process acts; the other takes over when it stops', async () => {
      const lease = { leaseMs: 5_000, standbyPollMs: 50 };
      const a = consumer('a', { lease });
      a.start();
      const [first] = await append(1);
      await checkpointPassed(a, first!.position);
      const b = consumer('b', { lease });
      b.start();
      const [second] = await append(1);
      await checkpointPassed(a, second!.position);
      expect(b.state).toBe('standby');
      await a.stop();
      const [third] = await append(1);
      await checkpointPassed(b, third!.position);
      expect((await handled()).map((r) => [r.by, r.times])).toEqual([
        ['a', 1],
        ['a', 1],
        ['b', 1],
      ]);
    });

    it('backs off while the handler fails, then goes on from the same event', async () => {
      let failures = 2;
      const seen: RecordedEvent[] = [];
      const c = consumer('c', {
        handler: async (batch) => {
          if (failures-- > 0) throw new Error('database down');
          seen.push(...batch.events);
          await batch.commit(batch.events.at(-1)!.position);
        },
      });
      const events = await append(3);
      c.start();
      await checkpointPassed(c, events.at(-1)!.position);
      expect(seen.map((e) => e.position)).toEqual(events.map((e) => e.position));
    });
  });
}
