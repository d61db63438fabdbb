import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describeWhen } from '#test-kit';
import { START, type AppendedEvent, type Position } from '#eventstore';
import {
  CatchUpAbortedError,
  CHECKPOINTS_TABLE,
  migrateProjections,
  ProjectionFailedError,
  ProjectionRunner,
  type Projection,
  type ProjectionTable,
  type Reducer,
} from '#projections/runner';
import { appendRandomHistory, snapshotTables, userIdOf } from '#projections/testing';
import { backends, capturingLogger, type TestStores } from '#projections/testing';
import { userProjections } from './user-projection.js';

/** The reducers only, one event at a time: the reference every other way of building must match. */
const oneByOne = (p: Projection): Projection => ({ ...p, applyBatch: undefined });

let scratchNo = 0;

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `user read model: batch fold, crashes and rewinds on ${backend.label}`, () => {
    let stores: TestStores;
    let db: TestStores['database']['db'];
    let history: AppendedEvent[];
    let reference: Record<string, unknown[]>;
    const created: string[] = [];

    /** Fresh, empty tables and a checkpoint of their own. */
    async function scratch(): Promise<{ projection: Projection; tables: ProjectionTable[]; suffix: string }> {
      const suffix = `eq${++scratchNo}_${Math.random().toString(36).slice(2, 8)}`;
      await userProjections.createTables(db, { scratch: suffix });
      created.push(suffix);
      return { ...userProjections.forScratch(suffix), suffix };
    }

    function runner(projection: Projection, batchSize: number, log = capturingLogger()) {
      return new ProjectionRunner(projection, { store: stores.store, db, logger: log.logger, batchSize, idleTimeoutMs: 200 });
    }

    const setCheckpoint = (name: string, position: Position) =>
      db.updateTable(CHECKPOINTS_TABLE).set({ position }).where('name', '=', name).execute();

    beforeAll(async () => {
      stores = await backend.open();
      db = stores.database.db;
      await migrateProjections(db, userProjections);
      history = await appendRandomHistory(stores.store, { seed: 20261125, users: 40, maxEvents: 12 });
      // Three users deleted after it all (one of them with OTP Email): deletes in the batch fold,
      // in rewinds and in crashes too. Not in `history`, whose end the rewinds count from.
      for (const n of [1, 2, 13]) await stores.store.append(`user-${userIdOf(n)}`, [{ type: 'user.removed', data: {} }], 'any');
      const ref = await scratch();
      await runner(oneByOne(ref.projection), 1).catchUp();
      reference = await snapshotTables(db, ref.tables);
      expect(history.length).toBeGreaterThan(200);
      expect(reference['id']!.length).toBe(37);
      expect(reference['user_id,method_type']!.length).toBeGreaterThan(0);
    }, 120_000);
    afterAll(async () => {
      for (const suffix of created) await userProjections.dropTables(db, { scratch: suffix }).catch(() => undefined);
      await stores?.cleanup();
    });

    it('the batch fold gives exactly the rows of the reducers applied one by one, at any batch size', async () => {
      for (const batchSize of [3, 25, 1000]) {
        const target = await scratch();
        const log = capturingLogger();
        await runner(target.projection, batchSize, log).catchUp();
        expect(await snapshotTables(db, target.tables)).toEqual(reference);
        // The fold did the work: it never fell back to the reducers.
        expect(log.lines.filter((l) => String(l.msg).includes('batch fold failed'))).toEqual([]);
      }
    });

    it('a runner stopped between batches, and a new one started, end with the rows of a fresh replay', async () => {
      for (const fold of [true, false]) {
        const target = await scratch();
        const projection = fold ? target.projection : oneByOne(target.projection);
        // Interrupted between two batches (catch-up: after the 5th commit) ...
        const abort = new AbortController();
        let commits = 0;
        const first = new ProjectionRunner(projection, {
          store: stores.store,
          db,
          logger: capturingLogger().logger,
          batchSize: 10,
          onCommit: () => ++commits === 5 && abort.abort(),
        });
        await expect(first.catchUp({ signal: abort.signal })).rejects.toBeInstanceOf(CatchUpAbortedError);
        expect(first.status().checkpoint).toBe(history[49]!.position);
        // ... and a following runner stopped while live.
        const second = runner(projection, 7);
        second.start();
        expect(await second.waitUntil(history[120]!.position, 10_000)).toBe(true);
        await second.stop();
        const third = runner(projection, 13);
        await third.catchUp();
        expect(await snapshotTables(db, target.tables)).toEqual(reference);
      }
    });

    it('a crash in the middle of a batch (a reducer throws after writing) keeps nothing of the batch after it; a restart ends with the rows of a fresh replay', async () => {
      const crashAt = history[137]!;
      for (const where of ['fold and reducer', 'fold only'] as const) {
        const target = await scratch();
        let crashes = 0;
        const crash = () => {
          crashes++;
          throw new Error('simulated crash');
        };
        const real = target.projection;
        const reducers: Record<string, Reducer> = {};
        for (const [type, reducer] of Object.entries(real.reducers)) {
          reducers[type] = async (trx, event) => {
            await reducer(trx, event);
            if (where === 'fold and reducer' && event.position === crashAt.position && crashes < 2) crash();
          };
        }
        const crashing: Projection = {
          ...real,
          reducers,
          applyBatch: async (trx, events) => {
            await real.applyBatch!(trx, events);
            if (events.some((e) => e.position === crashAt.position) && crashes < 1) crash();
          },
        };
        const first = runner(crashing, 50);
        if (where === 'fold and reducer') {
          const failed = await first.catchUp().catch((err: unknown) => err);
          expect(failed).toBeInstanceOf(ProjectionFailedError);
          // Everything before the crash is kept, nothing from it on.
          expect(first.status().checkpoint).toBe(history[136]!.position);
          const row = await db.selectFrom(CHECKPOINTS_TABLE).select(['position', 'state']).where('name', '=', real.name).executeTakeFirst();
          expect(row).toEqual({ position: history[136]!.position, state: 'failed' });
        } else {
          // The fold crashed and was rolled back; the same batch, event by event, went through.
          await first.catchUp();
        }
        await runner(real, 50).catchUp();
        expect(await snapshotTables(db, target.tables)).toEqual(reference);
      }
    });

    it('over existing tables, a rewound checkpoint applies the last N events again (add → remove → add of OTP Email among them) and the rows equal a fresh replay', async () => {
      // The history ends with OTP Email added, removed and added again for user 1.
      expect(history.slice(-3).map((e) => e.sequence)).toEqual([history.at(-3)!.sequence, history.at(-3)!.sequence + 1, history.at(-3)!.sequence + 2]);
      for (const fold of [true, false]) {
        const target = await scratch();
        const projection = fold ? target.projection : oneByOne(target.projection);
        await runner(projection, 40).catchUp();
        for (const n of [1, 3, 4, 17, 150, history.length]) {
          const rewindTo = n === history.length ? START : history[history.length - n - 1]!.position;
          await setCheckpoint(projection.name, rewindTo);
          for (const batchSize of [1, 16, 500]) {
            await setCheckpoint(projection.name, rewindTo);
            await runner(projection, batchSize).catchUp();
            expect(await snapshotTables(db, target.tables)).toEqual(reference);
          }
        }
      }
    }, 120_000);

    if (backend.label === 'server PostgreSQL') {
      it('a runner process killed (SIGKILL) in the middle of a batch: after a restart the rows equal a fresh replay', async () => {
        const target = await scratch();
        // The child applies batches of 25; in the 4th it writes, says so, and sleeps in the transaction.
        const child = spawn(
          process.execPath,
          ['--conditions=source', '--import', '@swc-node/register/esm-register', join(import.meta.dirname, '..', 'testing', 'crash-child.ts')],
          {
            cwd: join(import.meta.dirname, '..', '..'),
            env: { ...process.env, SWC_NODE_PROJECT: join(import.meta.dirname, '..', '..', 'tsconfig.json'), CRASH_URL: stores.url!, CRASH_SUFFIX: target.suffix },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += String(chunk)));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the child never reached the 4th batch: ${stderr}`)), 60_000);
          child.stdout.on('data', (chunk) => {
            if (String(chunk).includes('in batch 4')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.on('exit', (code) => reject(new Error(`the child ended early (${code}): ${stderr}`)));
        });
        const exited = new Promise((resolve) => child.on('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        // PostgreSQL rolled the 4th batch back: three batches are kept.
        const row = await db.selectFrom(CHECKPOINTS_TABLE).select('position').where('name', '=', target.projection.name).executeTakeFirst();
        expect(row?.position).toBe(history[74]!.position);
        await runner(target.projection, 25).catchUp();
        expect(await snapshotTables(db, target.tables)).toEqual(reference);
      }, 90_000);
    }
  });
}
