import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { sql, type Kysely } from 'kysely';
import { describeWhen, eventually } from '#test-kit';
import type { AppendedEvent, EventStore, ReadAllOptions } from '#eventstore';
import { backends, capturingLogger, type TestStores } from '#projections/testing';
import {
  CHECKPOINTS_TABLE,
  migrateProjections,
  ProjectionFailedError,
  ProjectionRunner,
  type Projection,
  type ProjectionRunnerOptions,
  type Reducer,
} from './index.js';

interface Hooks {
  /** Runs inside the 'slow' reducer before it writes. */
  slow?: () => Promise<void>;
}

/** A projection of rows keyed by event position; `applied` counts how often each event was reduced. */
function testProjection(hooks: Hooks = {}): Projection {
  const record: Reducer = async (trx, event) => {
    await sql`
      insert into projection_test.rows (position, stream, type, applied) values (${event.position}, ${event.stream}, ${event.type}, 1)
      on conflict (position) do update set applied = projection_test.rows.applied + 1`.execute(trx);
  };
  return {
    name: 'test-rows',
    historyTable: 'projection_test',
    migrations: {
      '0001_rows': {
        async up(db) {
          await sql`create schema projection_test`.execute(db);
          await sql`create table projection_test.rows (position text primary key, stream text not null, type text not null, applied int not null)`.execute(db);
        },
      },
    },
    reducers: {
      ok: record,
      boom: async (trx, event) => {
        await record(trx, event); // written, then rolled back with the batch
        throw new Error('cannot reduce a boom');
      },
      slow: async (trx, event) => {
        await hooks.slow?.();
        await record(trx, event);
      },
    },
  };
}

async function rows(db: Kysely<any>) {
  const { rows } = await sql<{ type: string; position: string; applied: number }>`
    select type, position, applied from projection_test.rows order by position`.execute(db);
  return rows;
}

async function storedCheckpoint(db: Kysely<any>, name = 'test-rows'): Promise<string | undefined> {
  const row = await db.selectFrom(CHECKPOINTS_TABLE).select('position').where('name', '=', name).executeTakeFirst();
  return row?.position;
}

async function appendTypes(store: EventStore, stream: string, types: string[]): Promise<AppendedEvent[]> {
  const out: AppendedEvent[] = [];
  for (const type of types) out.push(...(await store.append(stream, [{ type, data: { type } }], 'any')).events);
  return out;
}

/** Counts the runner's own readAll calls (the store's internal look-ups are not counted). */
function countingStore(store: EventStore): EventStore & { readAllCalls: number } {
  const counting = Object.create(store) as EventStore & { readAllCalls: number };
  counting.readAllCalls = 0;
  counting.readAll = (options?: ReadAllOptions) => {
    counting.readAllCalls++;
    return store.readAll(options);
  };
  return counting;
}

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `ProjectionRunner on ${backend.label}`, () => {
    let stores: TestStores;
    let runners: ProjectionRunner[];
    let log: ReturnType<typeof capturingLogger>;

    beforeEach(async () => {
      stores = await backend.open();
      runners = [];
      log = capturingLogger();
      await migrateProjections(stores.database.db, testProjection());
    });
    afterEach(async () => {
      for (const r of runners) await r.stop();
      await stores.cleanup();
    });

    function runner(projection = testProjection(), options: Partial<ProjectionRunnerOptions> = {}) {
      const r = new ProjectionRunner(projection, { store: stores.store, db: stores.database.db, logger: log.logger, ...options });
      runners.push(r);
      return r;
    }

    it('Given a batch of events no reducer wanted, When a reader waits for a later event, Then the pause after that batch ends at once', async () => {
      const [ignored] = await appendTypes(stores.store, 's-1', ['ignored']);
      const r = runner(testProjection(), { passGatherMs: 60_000 });
      r.start();
      // Watched without waiting on the runner: a waiter would end the pause this test is about.
      await eventually(() => expect(r.status().checkpoint).toBe(ignored!.position));
      const [ok] = await appendTypes(stores.store, 's-1', ['ok']);
      // Without the reader's hurry the runner would read again only after its 60 s pause.
      expect(await r.waitUntil(ok!.position, 5_000)).toBe(true);
      expect((await rows(stores.database.db)).map((row) => row.position)).toEqual([ok!.position]);
    });

    it('reduces every event in batches and stores the last position as the checkpoint', async () => {
      const appended = await appendTypes(stores.store, 's-1', ['ok', 'ok', 'ignored', 'ok', 'ok']);
      const r = runner(testProjection(), { batchSize: 2 });
      const checkpoint = await r.catchUp();
      const last = appended[appended.length - 1]!.position;
      expect(checkpoint).toBe(last);
      expect(await storedCheckpoint(stores.database.db)).toBe(last);
      expect((await rows(stores.database.db)).map((row) => [row.type, row.applied])).toEqual([
        ['ok', 1],
        ['ok', 1],
        ['ok', 1],
        ['ok', 1],
      ]);
      expect(r.status()).toMatchObject({ name: 'test-rows', state: 'idle', checkpoint: last });
      // Nothing new: a second catch-up changes nothing.
      expect(await r.catchUp()).toBe(last);
      expect((await rows(stores.database.db)).every((row) => row.applied === 1)).toBe(true);
    });

    for (const batchSize of [100, 2]) {
      it(`stops at a failing reducer with state failed, the checkpoint just before the bad event and a log line (batch size ${batchSize})`, async () => {
        const [ok1, ok2, bad, ok3] = await appendTypes(stores.store, 's-1', ['ok', 'ok', 'boom', 'ok']);
        const r = runner(testProjection(), { batchSize });
        const failed = await r.catchUp().catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(ProjectionFailedError);
        expect((failed as ProjectionFailedError).failure.event.position).toBe(bad!.position);

        // The events before the bad one are kept; the bad one's own write is rolled back; nothing after it.
        expect(await storedCheckpoint(stores.database.db)).toBe(ok2!.position);
        expect((await rows(stores.database.db)).map((row) => row.position)).toEqual([ok1!.position, ok2!.position]);
        expect(r.status()).toMatchObject({
          state: 'failed',
          checkpoint: ok2!.position,
          failure: { projection: 'test-rows', event: { type: 'boom', stream: 's-1', sequence: 3, position: bad!.position }, reason: 'cannot reduce a boom' },
        });

        const errorLines = log.lines.filter((line) => line.level === 'error');
        expect(errorLines).toHaveLength(1);
        expect(errorLines[0]).toMatchObject({ projection: 'test-rows', event: { type: 'boom', position: bad!.position }, checkpoint: ok2!.position });
        expect(errorLines[0]!.msg).toContain(`projection test-rows stopped: the reducer for boom failed on event ${(failed as ProjectionFailedError).failure.event.id}`);
        expect(errorLines[0]!.msg).toContain('cannot reduce a boom');

        // Failed means failed: no more batches until restarted, and waiting for a later position fails fast.
        await expect(r.catchUp()).rejects.toBeInstanceOf(ProjectionFailedError);
        await expect(r.waitUntil(ok3!.position, 5_000)).rejects.toBeInstanceOf(ProjectionFailedError);

        // A restart retries the same event (never skips it) and fails again at the same place.
        r.start();
        await eventually(() => expect(r.status().state).toBe('failed'));
        await r.stop();
        expect(r.status().state).toBe('failed');
        expect(await storedCheckpoint(stores.database.db)).toBe(ok2!.position);
        expect((await rows(stores.database.db)).map((row) => row.position)).toEqual([ok1!.position, ok2!.position]);
      });
    }

    it('a failure while following rejects the waiters and ends the loop', async () => {
      const r = runner();
      r.start();
      const [bad] = await appendTypes(stores.store, 's-1', ['boom']);
      await expect(r.waitUntil(bad!.position, 10_000)).rejects.toBeInstanceOf(ProjectionFailedError);
      await r.stop();
      expect(r.status().state).toBe('failed');
      expect(await storedCheckpoint(stores.database.db)).toBe('');
    });

    it('Given events without reducers before a failing one, When following live, Then the row is saved just before the bad event (not left to a pass)', async () => {
      const r = runner();
      r.start();
      const [ignored, bad] = await appendTypes(stores.store, 's-1', ['ignored', 'boom']);
      await expect(r.waitUntil(bad!.position, 10_000)).rejects.toBeInstanceOf(ProjectionFailedError);
      await r.stop();
      expect(r.status().state).toBe('failed');
      expect(await storedCheckpoint(stores.database.db)).toBe(ignored!.position);
    });

    it('follows the store live: an append after start() is reduced without catchUp()', async () => {
      const store = countingStore(stores.store);
      const r = runner(testProjection(), { store, idleTimeoutMs: 200 });
      r.start();
      expect(r.status().state).toBe('running');
      const [first] = await appendTypes(stores.store, 's-1', ['ok']);
      expect(await r.waitUntil(first!.position, 10_000)).toBe(true);
      expect((await rows(stores.database.db)).map((row) => row.position)).toEqual([first!.position]);

      // Idle: it waits on the store instead of polling in a tight loop. What is measured here is a
      // rate (reads per 600 ms while idle), so the window is the behaviour under test.
      const before = store.readAllCalls;
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(store.readAllCalls - before).toBeLessThanOrEqual(6);

      const [second] = await appendTypes(stores.store, 's-2', ['ok']);
      expect(await r.waitUntil(second!.position, 10_000)).toBe(true);
      expect(await storedCheckpoint(stores.database.db)).toBe(second!.position);
      await r.stop();
      expect(r.status().state).toBe('stopped');
    });

    if (backend.label === 'server PostgreSQL') {
      it('picks up an event held back by an open transaction soon after that transaction ends, without a wake-up', async () => {
        const r = runner(testProjection(), { idleTimeoutMs: 30_000 });
        r.start();
        let began!: () => void;
        let release!: () => void;
        const hasBegun = new Promise<void>((resolve) => (began = resolve));
        const gate = new Promise<void>((resolve) => (release = resolve));
        // A writing transaction that is not an append: its end notifies nobody.
        const blocker = stores.database.db.transaction().execute(async (trx) => {
          await sql`select pg_current_xact_id()`.execute(trx);
          began();
          await gate;
        });
        await hasBegun;
        const [held] = await appendTypes(stores.store, 's-1', ['ok']);
        expect(await r.waitUntil(held!.position, 300)).toBe(false);
        // catchUp() waits for what was committed when it began, also when it is held back.
        const other = runner(testProjection());
        const caughtUp = other.catchUp();
        release();
        await blocker;
        const started = Date.now();
        expect(await r.waitUntil(held!.position, 10_000)).toBe(true);
        expect(Date.now() - started).toBeLessThan(9_000);
        expect(await caughtUp).toBe(held!.position);
      });
    }

    it('waitUntil resolves false when the position is not reached in time', async () => {
      const [e] = await appendTypes(stores.store, 's-1', ['ok']);
      const r = runner();
      expect(await r.waitUntil(e!.position, 50)).toBe(false);
      await r.catchUp();
      expect(await r.waitUntil(e!.position, 50)).toBe(true);
      expect(await r.waitUntil('', 0)).toBe(true);
    });

    it('stop() waits for the batch in hand, which commits', async () => {
      let entered!: () => void;
      let release!: () => void;
      const inReducer = new Promise<void>((resolve) => (entered = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      const r = runner(
        testProjection({
          slow: async () => {
            entered();
            await gate;
          },
        }),
      );
      // PGlite: the append must not wait behind the runner's open transaction, so append first.
      const [slow] = await appendTypes(stores.store, 's-1', ['slow']);
      r.start();
      await inReducer;
      // stop() waits for the batch in hand: the slow event's checkpoint below can only be there
      // if the batch was committed after stop() was called, not rolled back.
      const stopping = r.stop();
      expect(r.status().state).toBe('stopping');
      release();
      await stopping;
      expect(r.status().state).toBe('stopped');
      expect(await storedCheckpoint(stores.database.db)).toBe(slow!.position);
      expect((await rows(stores.database.db)).map((row) => row.position)).toEqual([slow!.position]);
    });

    it('two runners of one projection never apply an event twice (the checkpoint is compared and set)', async () => {
      const appended = await appendTypes(stores.store, 's-1', Array.from({ length: 20 }, () => 'ok'));
      const a = runner(testProjection(), { batchSize: 3 });
      const b = runner(testProjection(), { batchSize: 3 });
      await Promise.all([a.catchUp(), b.catchUp()]);
      const result = await rows(stores.database.db);
      expect(result).toHaveLength(20);
      expect(result.every((row) => row.applied === 1)).toBe(true);
      expect(await storedCheckpoint(stores.database.db)).toBe(appended[19]!.position);
    });

    it('a rewound checkpoint is read again before the next batch', async () => {
      const appended = await appendTypes(stores.store, 's-1', ['ok', 'ok']);
      const r = runner();
      await r.catchUp();
      await stores.database.db.updateTable(CHECKPOINTS_TABLE).set({ position: appended[0]!.position }).where('name', '=', 'test-rows').execute();
      expect(await r.catchUp()).toBe(appended[1]!.position);
      // This test projection is not idempotent on purpose: the count shows the second event was reduced again.
      expect((await rows(stores.database.db)).map((row) => row.applied)).toEqual([1, 2]);
    });
  });
}
