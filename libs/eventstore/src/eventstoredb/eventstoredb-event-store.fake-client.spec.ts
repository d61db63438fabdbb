import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  AccessDeniedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendResult as EsdbAppendResult,
  type AppendToStreamOptions,
  type EventData,
  type ReadAllOptions as EsdbReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, InvalidAppendError, WrongExpectedVersionError } from '../errors.js';
import { START } from '../event-store.js';
import { eventually } from '#test-kit';
import { EventStoreDbEventStore, type EsdbLiveSubscription, type EventStoreDbClientPort } from './eventstoredb-event-store.js';
import { encodeEsdbPosition } from './mapping.js';
import { CodeCipher, PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations, PersonalDataKeys, withPersonalDataSealing } from '#crypto';
import { migrate, openInMemoryDatabase } from '#database';
import { userPersonalData } from '#user';

// A small in-memory stand-in for EventStoreDB behind the client's API: one $all log (user,
// system and link events), optimistic concurrency per stream, forward reads of $all that
// include the event at `fromPosition`, backward reads that stop before it, and live
// subscriptions that confirm and then emit every new event. It checks the calls the adapter
// makes and what the adapter does with the answers; the contract against a real server is in
// eventstoredb-event-store.spec.ts.

class FakeSubscription extends EventEmitter implements EsdbLiveSubscription {
  unsubscribed = false;
  constructor(readonly options: SubscribeToAllOptions) {
    super();
    setImmediate(() => this.emit('confirmation'));
  }
  async unsubscribe(): Promise<void> {
    this.unsubscribed = true;
  }
}

interface Call {
  method: 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose';
  args: unknown[];
}

class FakeEventStoreDb implements EventStoreDbClientPort {
  readonly log: AllStreamResolvedEvent[] = [];
  readonly calls: Call[] = [];
  readonly subscriptions: FakeSubscription[] = [];
  disposed = false;
  // Starts just below a digit-width boundary, so positions cross 999 → 1000.
  private nextCommit = 990n;
  private clock = Date.parse('2024-05-01T10:00:00.000Z');

  callsOf(method: Call['method']): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Another writer (or the server itself) adds to the log. */
  record(streamId: string, type: string, options: { isJson?: boolean; data?: unknown; metadata?: unknown } = {}): AllStreamResolvedEvent {
    const revision = this.revisionOf(streamId) + 1n;
    const commit = this.nextCommit;
    this.nextCommit += 7n;
    const resolved = {
      event: {
        streamId,
        id: randomUUID(),
        isJson: options.isJson ?? true,
        revision,
        type,
        created: new Date((this.clock += 5)),
        // Stored as bytes on a real server: a copy, never the caller's object.
        data: options.isJson === false ? new Uint8Array([1]) : JSON.parse(JSON.stringify(options.data ?? {})),
        metadata: options.metadata === undefined ? undefined : JSON.parse(JSON.stringify(options.metadata)),
        position: { commit, prepare: commit - 3n },
      },
    } as AllStreamResolvedEvent;
    this.log.push(resolved);
    for (const subscription of this.subscriptions) setImmediate(() => subscription.emit('data', resolved));
    return resolved;
  }

  private revisionOf(stream: string): bigint {
    let revision = -1n;
    for (const r of this.log) if (r.event!.streamId === stream) revision = r.event!.revision;
    return revision;
  }

  async appendToStream(streamName: string, events: EventData[], options: AppendToStreamOptions): Promise<EsdbAppendResult> {
    this.calls.push({ method: 'appendToStream', args: [streamName, events, options] });
    const current = this.revisionOf(streamName);
    const expected = options.expectedRevision ?? 'any';
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && current === -1n) ||
      (expected === 'stream_exists' && current !== -1n) ||
      (typeof expected === 'bigint' && expected === current);
    if (!ok) {
      throw new EsdbWrongExpectedVersionError(undefined, {
        streamName,
        expected,
        current: current === -1n ? 'no_stream' : current,
      });
    }
    let last!: AllStreamResolvedEvent;
    for (const e of events) {
      last = this.record(streamName, e.type, { isJson: e.contentType === 'application/json', data: e.data, metadata: e.metadata });
      last.event!.id = e.id;
    }
    return { success: true, nextExpectedRevision: last.event!.revision, position: last.event!.position };
  }

  readStream(streamName: string, options: ReadStreamOptions): AsyncIterable<ResolvedEvent> {
    this.calls.push({ method: 'readStream', args: [streamName, options] });
    const { fromRevision = 'start', maxCount = Number.MAX_SAFE_INTEGER, direction = 'forwards' } = options;
    if (direction !== 'forwards' || fromRevision === 'end') throw new Error('the fake reads streams forwards from a revision only');
    const inStream = this.log.filter((r) => r.event!.streamId === streamName);
    const from = fromRevision === 'start' ? 0n : fromRevision;
    const selected = inStream.filter((r) => r.event!.revision >= from).slice(0, Number(maxCount));
    // Like the real client, the error comes while iterating, not from the call.
    return (async function* () {
      if (inStream.length === 0) throw new StreamNotFoundError(undefined, streamName);
      yield* selected;
    })();
  }

  readAll(options: EsdbReadAllOptions): AsyncIterable<AllStreamResolvedEvent> {
    this.calls.push({ method: 'readAll', args: [options] });
    const { fromPosition = 'start', maxCount = Number.MAX_SAFE_INTEGER, direction = 'forwards' } = options;
    const key = (r: AllStreamResolvedEvent) => encodeEsdbPosition(r.event!.position);
    let selected: AllStreamResolvedEvent[];
    if (direction === 'forwards') {
      if (fromPosition === 'end') selected = [];
      else if (fromPosition === 'start') selected = [...this.log];
      else selected = this.log.filter((r) => key(r) >= encodeEsdbPosition(fromPosition));
    } else {
      const reversed = [...this.log].reverse();
      if (fromPosition === 'start') selected = [];
      else if (fromPosition === 'end') selected = reversed;
      else selected = reversed.filter((r) => key(r) < encodeEsdbPosition(fromPosition));
    }
    const page = selected.slice(0, Number(maxCount));
    return (async function* () {
      yield* page;
    })();
  }

  subscribeToAll(options: SubscribeToAllOptions): EsdbLiveSubscription {
    this.calls.push({ method: 'subscribeToAll', args: [options] });
    const subscription = new FakeSubscription(options);
    this.subscriptions.push(subscription);
    return subscription;
  }

  async dispose(): Promise<void> {
    this.calls.push({ method: 'dispose', args: [] });
    this.disposed = true;
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** Watches the adapter's own reads of $all: a waiter looks at the log once it has subscribed. */
const watchReads = (store: EventStoreDbEventStore) => jest.spyOn(store, 'readAll');

/**
 * Resolves once `count` waiters have subscribed and finished their look at the log, with what
 * each look found: a waiter whose look found nothing ends only on a wake-up, an abort or its
 * time-out.
 */
async function looked(reads: ReturnType<typeof watchReads>, count = 1): Promise<unknown[]> {
  await eventually(() => expect(reads.mock.calls.length).toBeGreaterThanOrEqual(count));
  return Promise.all(reads.mock.results.slice(0, count).map((result) => result.value));
}

describe('EventStoreDbEventStore against a fake client (no EventStoreDB server can run here)', () => {
  let fake: FakeEventStoreDb;
  let store: EventStoreDbEventStore;

  beforeEach(() => {
    fake = new FakeEventStoreDb();
    store = new EventStoreDbEventStore(fake);
  });
  afterEach(async () => {
    await store.close();
  });

  describe('append', () => {
    it('sends JSON events with our type, data and metadata and the mapped expected revision', async () => {
      await store.append(
        'user-1',
        [
          { type: 'user.added', data: { username: 'ada' }, metadata: { editor: 'admin' } },
          { type: 'user.verified', data: { at: 1 } },
        ],
        'no_stream',
      );
      const [[stream, events, options]] = fake.callsOf('appendToStream') as [string, EventData[], AppendToStreamOptions][];
      expect(stream).toBe('user-1');
      expect(options).toEqual({ expectedRevision: 'no_stream' });
      expect(events.map(({ contentType, type, data, metadata }) => ({ contentType, type, data, metadata }))).toEqual([
        { contentType: 'application/json', type: 'user.added', data: { username: 'ada' }, metadata: { editor: 'admin' } },
        { contentType: 'application/json', type: 'user.verified', data: { at: 1 }, metadata: {} },
      ]);
      expect(new Set(events.map((e) => e.id)).size).toBe(2);
    });

    it.each([
      [0, 'no_stream'],
      ['any', 'any'],
      [2, 1n],
    ] as const)('maps expected revision %p to %p', async (ours, theirs) => {
      if (ours === 2) await store.append('s', [{ type: 'a', data: {} }, { type: 'b', data: {} }], 'no_stream');
      await store.append('s', [{ type: 'c', data: {} }], ours);
      const calls = fake.callsOf('appendToStream') as [string, EventData[], AppendToStreamOptions][];
      expect(calls[calls.length - 1]![2].expectedRevision).toBe(theirs);
    });

    it('reads the new events back for their sequences, positions and times', async () => {
      await store.append('s', [{ type: 'a', data: {} }], 'no_stream');
      const result = await store.append('s', [{ type: 'b', data: {} }, { type: 'c', data: {} }], 1);

      expect(fake.callsOf('readStream').at(-1)).toEqual(['s', expect.objectContaining({ fromRevision: 1n, maxCount: 2, direction: 'forwards' })]);
      const written = fake.log.slice(1).map((r) => r.event!);
      expect(result).toEqual({
        events: written.map((e) => ({ sequence: Number(e.revision) + 1, position: encodeEsdbPosition(e.position), createdAt: e.created })),
        nextExpectedRevision: 3,
      });
      expect(result.events.map((e) => e.sequence)).toEqual([2, 3]);
      expect(result.events[0]!.position < result.events[1]!.position).toBe(true);
    });

    it("turns the client's WrongExpectedVersionError into ours with our actual revision", async () => {
      await store.append('s', [{ type: 'a', data: {} }, { type: 'b', data: {} }], 'no_stream');
      const stale = await rejection(store.append('s', [{ type: 'c', data: {} }], 1));
      expect(stale).toBeInstanceOf(WrongExpectedVersionError);
      expect(stale).toMatchObject({ stream: 's', expected: 1, actual: 2 });

      const existing = await rejection(store.append('s', [{ type: 'c', data: {} }], 'no_stream'));
      expect(existing).toMatchObject({ expected: 'no_stream', actual: 2 });

      const missing = await rejection(store.append('nobody', [{ type: 'c', data: {} }], 3));
      expect(missing).toBeInstanceOf(WrongExpectedVersionError);
      expect(missing).toMatchObject({ stream: 'nobody', expected: 3, actual: 0 });
      expect(fake.log).toHaveLength(2);
    });

    it('refuses bad input without calling the client', async () => {
      for (const [stream, events] of [
        ['', [{ type: 'a', data: {} }]],
        ['$system', [{ type: 'a', data: {} }]],
        ['s', []],
        ['s', [{ type: '$metadata', data: {} }]],
        ['s', [{ type: 'a', data: { n: 1n } as any }]],
      ] as const) {
        expect(await rejection(store.append(stream, events as any, 'any'))).toBeInstanceOf(InvalidAppendError);
      }
      expect(fake.calls).toEqual([]);
    });

    it('passes on other client errors, unreachability as EventStoreUnavailableError', async () => {
      jest.spyOn(fake, 'appendToStream').mockRejectedValueOnce(new UnavailableError());
      expect(await rejection(store.append('s', [{ type: 'a', data: {} }], 'any'))).toBeInstanceOf(EventStoreUnavailableError);
      const denied = new AccessDeniedError();
      jest.spyOn(fake, 'appendToStream').mockRejectedValueOnce(denied);
      expect(await rejection(store.append('s', [{ type: 'a', data: {} }], 'any'))).toBe(denied);
    });
  });

  describe('readStream', () => {
    it('maps StreamNotFoundError to []', async () => {
      expect(await store.readStream('nobody')).toEqual([]);
      expect(fake.callsOf('readStream')).toEqual([['nobody', expect.objectContaining({ fromRevision: 'start' })]]);
    });

    it('passes other errors on', async () => {
      const denied = new AccessDeniedError();
      jest.spyOn(fake, 'readStream').mockReturnValueOnce(
        (async function* () {
          throw denied;
        })(),
      );
      expect(await rejection(store.readStream('s'))).toBe(denied);
    });

    it('returns the JSON events of the stream with 1-based sequences', async () => {
      await store.append('s', [{ type: 'a', data: { x: 1 } }, { type: 'b', data: {}, metadata: { m: true } }], 'no_stream');
      fake.record('s', 'blob', { isJson: false });
      const read = await store.readStream('s');
      expect(read.map((e) => [e.stream, e.type, e.sequence, e.data, e.metadata])).toEqual([
        ['s', 'a', 1, { x: 1 }, {}],
        ['s', 'b', 2, {}, { m: true }],
      ]);
      expect(read.map((e) => e.id)).toEqual(fake.log.slice(0, 2).map((r) => r.event!.id));
    });
  });

  describe('readAll', () => {
    it('reads from the decoded position and drops the event at it (fromPosition is inclusive)', async () => {
      await store.append('a', [{ type: 'one', data: {} }], 'no_stream');
      await store.append('b', [{ type: 'two', data: {} }, { type: 'three', data: {} }], 'no_stream');
      const all = await store.readAll();
      expect(all.map((e) => e.type)).toEqual(['one', 'two', 'three']);
      expect(fake.callsOf('readAll').at(-1)).toEqual([expect.objectContaining({ fromPosition: 'start', direction: 'forwards' })]);

      const after = await store.readAll({ after: all[0]!.position });
      expect(after.map((e) => e.type)).toEqual(['two', 'three']);
      expect(fake.callsOf('readAll').at(-1)).toEqual([
        expect.objectContaining({ fromPosition: fake.log[0]!.event!.position, direction: 'forwards' }),
      ]);
      expect(await store.readAll({ after: all[2]!.position })).toEqual([]);
    });

    it('returns at most `limit` events, in position order across digit widths', async () => {
      for (let i = 0; i < 5; i++) await store.append(`s-${i}`, [{ type: 'e', data: { i } }], 'no_stream');
      const page = await store.readAll({ limit: 3 });
      expect(page.map((e) => e.data.i)).toEqual([0, 1, 2]);
      expect(fake.log.map((r) => r.event!.position.commit)).toContain(1004n); // crossed 999 → 1000
      const rest = await store.readAll({ after: page[2]!.position, limit: 3 });
      expect(rest.map((e) => e.data.i)).toEqual([3, 4]);
      expect(await store.readAll({ limit: 0 })).toEqual([]);
    });

    it('skips system and link events, reading on past a full page of them', async () => {
      await store.append('a', [{ type: 'first', data: {} }], 'no_stream');
      for (let i = 0; i < 250; i++) fake.record(i % 2 ? '$ce-a' : '$stats-node', i % 2 ? '$>' : '$statsCollected', { isJson: i % 2 === 0 });
      await store.append('a', [{ type: 'second', data: {} }], 1);
      const first = (await store.readAll())[0]!;

      const next = await store.readAll({ after: first.position, limit: 1 });
      expect(next.map((e) => e.type)).toEqual(['second']);
      expect(fake.callsOf('readAll').length).toBeGreaterThan(2);
      expect((await store.readAll()).map((e) => e.type)).toEqual(['first', 'second']);
    });

    it('rejects a position that is not one of ours', async () => {
      expect(await rejection(store.readAll({ after: '00000000000000000001.00000000000000000001' }))).toBeInstanceOf(RangeError);
      expect(fake.calls).toEqual([]);
    });
  });

  describe('headPosition', () => {
    it('is START for an empty store', async () => {
      expect(await store.headPosition()).toBe(START);
      expect(fake.callsOf('readAll')).toEqual([[expect.objectContaining({ fromPosition: 'end', direction: 'backwards', maxCount: 1 })]]);
    });

    it('is the position of the newest event the port shows, past newer system events', async () => {
      const result = await store.append('a', [{ type: 'one', data: {} }, { type: 'two', data: {} }], 'no_stream');
      expect(await store.headPosition()).toBe(result.events[1]!.position);
      for (let i = 0; i < 150; i++) fake.record('$ce-a', '$>', { isJson: false });
      expect(await store.headPosition()).toBe(result.events[1]!.position);
    });

    it('is START when $all holds only system events', async () => {
      for (let i = 0; i < 120; i++) fake.record('$stats-node', '$statsCollected');
      expect(await store.headPosition()).toBe(START);
    });
  });

  describe('waitForEvents', () => {
    it('starts one live subscription from the end of $all without system events, and wakes when it emits', async () => {
      const head = await store.headPosition();
      const reads = watchReads(store);
      let woke = false;
      const waiting = store.waitForEvents(head, { timeoutMs: 60_000 }).then(() => (woke = true));
      expect(await looked(reads)).toEqual([[]]);
      expect(woke).toBe(false);
      expect(fake.subscriptions).toHaveLength(1);
      expect(fake.subscriptions[0]!.options).toEqual({
        fromPosition: 'end',
        filter: expect.objectContaining({ filterOn: 'eventType', regex: '^[^$].*' }),
      });

      fake.subscriptions[0]!.emit('data', {});
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([waiting, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
      clearTimeout(timer);
      expect(woke).toBe(true);

      // A second waiter shares the subscription.
      const second = store.waitForEvents(head, { timeoutMs: 60_000 });
      expect(await looked(reads, 2)).toEqual([[], []]);
      fake.record('other', 'appended.elsewhere');
      await second;
      expect(fake.callsOf('subscribeToAll')).toHaveLength(1);
    });

    it('returns at once when readAll already has an event after `after`', async () => {
      await store.append('a', [{ type: 'one', data: {} }], 'no_stream');
      const started = Date.now();
      await store.waitForEvents(START, { timeoutMs: 60_000 });
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('resolves on the time-out and on abort', async () => {
      const head = await store.headPosition();
      const started = Date.now();
      await store.waitForEvents(head, { timeoutMs: 150 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);

      const controller = new AbortController();
      const reads = watchReads(store);
      let woke = false;
      const waiting = store.waitForEvents(head, { timeoutMs: 60_000, signal: controller.signal }).then(() => (woke = true));
      expect(await looked(reads)).toEqual([[]]);
      expect(woke).toBe(false);
      controller.abort();
      await waiting;
      await store.waitForEvents(head, { timeoutMs: 60_000, signal: controller.signal });
    });

    it('starts a new subscription on the next wait after the last one failed', async () => {
      await store.waitForEvents(START, { timeoutMs: 30 });
      fake.subscriptions[0]!.emit('error', new UnavailableError());
      await store.waitForEvents(START, { timeoutMs: 30 });
      expect(fake.subscriptions).toHaveLength(2);
    });

    it('close() lets waiters go, unsubscribes and disposes the client', async () => {
      const reads = watchReads(store);
      const waiting = store.waitForEvents(START, { timeoutMs: 60_000 });
      expect(await looked(reads)).toEqual([[]]);
      await store.close();
      await waiting;
      expect(fake.subscriptions[0]!.unsubscribed).toBe(true);
      expect(fake.disposed).toBe(true);
    });
  });

  describe('ping', () => {
    it('reads one event backwards from the end of $all', async () => {
      await store.ping();
      expect(fake.callsOf('readAll')).toEqual([[{ fromPosition: 'end', direction: 'backwards', maxCount: 1 }]]);
    });

    it('reports a failure as EventStoreUnavailableError', async () => {
      jest.spyOn(fake, 'readAll').mockReturnValueOnce(
        (async function* (): AsyncGenerator<AllStreamResolvedEvent> {
          throw new UnavailableError();
        })(),
      );
      expect(await rejection(store.ping())).toBeInstanceOf(EventStoreUnavailableError);
    });
  });

  describe('personal data (crypto-shredding on EventStoreDB)', () => {
    it('holds only sealed personal data and hashed claim stream names; destroying the key erases, nothing is rewritten', async () => {
      const database = await openInMemoryDatabase();
      await migrate(database.db, PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations);
      const keys = new PersonalDataKeys(database, new CodeCipher(Buffer.alloc(32, 4)));
      const sealed = withPersonalDataSealing(store, keys, userPersonalData);
      await sealed.append('user-u1', [{ type: 'user.human.added', data: { username: 'esdbperson', orgId: 'o1', profile: { givenName: 'Esdbgiven', familyName: 'Esdbfamily', displayName: 'E F' }, email: 'esdb@example.com' } }], 'no_stream');
      await sealed.append('username-esdbperson', [{ type: 'username.claimed', data: { userId: 'u1', username: 'esdbperson' } }], 'no_stream');
      const raw = JSON.stringify(fake.log.map((r) => [r.event!.streamId, r.event!.data]));
      for (const text of ['esdbperson', 'Esdbgiven', 'Esdbfamily', 'esdb@example.com']) expect(raw).not.toContain(text);
      expect((await sealed.readStream('user-u1'))[0]!.data).toMatchObject({ username: 'esdbperson', email: 'esdb@example.com' });

      const writes = fake.calls.filter((c) => c.method === 'appendToStream').length;
      await keys.destroy('u1');
      expect((await sealed.readStream('user-u1'))[0]!.data).toMatchObject({ username: '', email: '', $erased: true });
      expect((await sealed.readStream('username-esdbperson'))[0]!.data).toMatchObject({ userId: 'u1', username: '', $erased: true });
      // The erasure wrote nothing to EventStoreDB: the ciphertext stays, unreadable.
      expect(fake.calls.filter((c) => c.method === 'appendToStream')).toHaveLength(writes);
      await database.close();
    });
  });
});
