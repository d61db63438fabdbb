import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SqlDatabase } from '#database';
import { testBackend, watchPostgresLooks, type TestStores } from '#eventstore/testing';
import { eventually } from '#test-kit';
import { PostgresEventStore } from './postgres-event-store.js';

/**
 * The NOTIFY a store sends other processes after an append comes back through its own LISTEN.
 * The database's listen/notify are replaced here by a recorder (a stand-in for server
 * PostgreSQL's, which the server suite exercises end to end), so that which notification
 * arrives when is the test's to decide.
 */
describe('PostgresEventStore: its own notifications', () => {
  let t: TestStores;
  let deliver: (payload: string) => void = () => undefined;
  const sent: string[] = [];
  let store: PostgresEventStore;
  let database: SqlDatabase;

  beforeAll(async () => {
    t = await testBackend('pglite').open();
    database = {
      ...t.database,
      kind: 'server',
      listen: async (_channel, onNotify) => {
        deliver = onNotify;
        return async () => undefined;
      },
      notify: async (_channel, payload) => {
        sent.push(payload ?? '');
      },
    };
    store = new PostgresEventStore(database);
  });
  afterAll(() => t.cleanup());

  /**
   * Whether `wait` has settled once every promise reaction already queued has run (a wake-up is
   * a synchronous emit: what it settles is settled before the next turn of the event loop).
   */
  const settledNow = (wait: Promise<unknown>) => Promise.race([wait.then(() => 'woke'), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);

  /** A reader waiting after the head: registered, and its one look done, so only a wake-up ends the wait. */
  async function waitingReader(): Promise<{ wait: Promise<void> }> {
    const from = await store.headPosition();
    const watch = watchPostgresLooks(database);
    const wait = store.waitForEvents(from, { timeoutMs: 60_000 });
    await eventually(() => expect(watch.looks()).toHaveLength(1));
    await watch.looks()[0];
    watch.stop();
    return { wait };
  }

  it('Given a reader waiting after this store appended, When the echo of its own NOTIFY arrives, Then it is not woken; Another store\'s NOTIFY wakes it', async () => {
    await store.append('echo-1', [{ type: 'ping', data: {} }], 'no_stream');
    await eventually(() => expect(sent).toHaveLength(1));
    const own = sent[0]!;
    expect(own).not.toBe('');

    const { wait } = await waitingReader();
    deliver(own);
    expect(await settledNow(wait)).toBe('waiting');
    deliver('another-process');
    expect(await settledNow(wait)).toBe('woke');
  });

  it('Given appends in quick succession, When the gathering pause ends, Then one NOTIFY stands for all of them', async () => {
    const gathering = new PostgresEventStore(database, { notifyGatherMs: 3_000 });
    sent.length = 0;
    for (let i = 0; i < 3; i++) await gathering.append(`gather-${i}`, [{ type: 'ping', data: {} }], 'no_stream');
    expect(sent).toEqual([]);
    await eventually(() => expect(sent).toHaveLength(1));
    await gathering.close();
    expect(sent).toHaveLength(1);
  });

  it('Given another process that sends no payload (an older version), When its NOTIFY arrives, Then readers are woken', async () => {
    const { wait } = await waitingReader();
    deliver('');
    expect(await settledNow(wait)).toBe('woke');
  });
});
