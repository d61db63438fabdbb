import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { eventually } from '#test-kit';
import { randomUUID } from 'node:crypto';
import { InvalidAppendError, WrongExpectedVersionError } from '#eventstore';
import type { EventStore, NewEvent, Position, RecordedEvent } from '#eventstore';
import type { LookWatch } from './looks.js';

export interface ContractSubject {
  store: EventStore;
  cleanup: () => Promise<void>;
  /** Watches the store's looks inside waitForEvents; without it, its readAll calls are taken for them. */
  watchLooks?: () => LookWatch;
}

/** An adapter whose look at the log is a readAll call. */
function watchReadAll(store: EventStore): LookWatch {
  const reads = jest.spyOn(store, 'readAll');
  return { looks: () => reads.mock.results.map((r) => r.value as Promise<unknown>), stop: () => reads.mockRestore() };
}

const event = (type: string, data: Record<string, any> = {}): NewEvent => ({ type, data, metadata: { correlationId: randomUUID() } });

async function expectWrongVersion(promise: Promise<unknown>, actual: number): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WrongExpectedVersionError);
  expect((err as WrongExpectedVersionError).actual).toBe(actual);
}

/** Reads everything after `from`, in batches, as a projector would. */
async function readAllAfter(store: EventStore, from: Position, batch = 100): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  let after = from;
  for (;;) {
    const page = await store.readAll({ after, limit: batch });
    if (page.length === 0) return seen;
    seen.push(...page);
    after = page[page.length - 1]!.position;
  }
}

/**
 * The behaviour every EventStore adapter must show. Each test works on streams of its own
 * (a random prefix) and reads the global log from the head it saw when it began, so the
 * cases share one store without seeing each other.
 */
export function eventStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: EventStore;
    const streamName = (label: string) => `${label}-${randomUUID()}`;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('round-trips events with 1-based sequences, increasing positions and the store clock', async () => {
      const stream = streamName('user');
      const before = Date.now();
      const result = await store.append(
        stream,
        [
          { type: 'user.human.added', data: { username: 'ada', nested: { list: [1, 'two', null, true] } }, metadata: { editor: 'admin' } },
          { type: 'user.email.verified', data: {} },
        ],
        'no_stream',
      );
      expect(result.events.map((e) => e.sequence)).toEqual([1, 2]);
      expect(result.nextExpectedRevision).toBe(2);
      expect(result.events[0]!.position < result.events[1]!.position).toBe(true);
      for (const e of result.events) {
        expect(e.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5_000);
        expect(e.createdAt.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
      }

      const read = await store.readStream(stream);
      expect(read.map((e) => [e.stream, e.type, e.sequence])).toEqual([
        [stream, 'user.human.added', 1],
        [stream, 'user.email.verified', 2],
      ]);
      expect(read[0]!.data).toEqual({ username: 'ada', nested: { list: [1, 'two', null, true] } });
      expect(read[0]!.metadata).toEqual({ editor: 'admin' });
      expect(read[1]!.metadata).toEqual({});
      expect(read.map((e) => e.position)).toEqual(result.events.map((e) => e.position));
      expect(read.map((e) => e.createdAt.getTime())).toEqual(result.events.map((e) => e.createdAt.getTime()));
      expect(new Set(read.map((e) => e.id)).size).toBe(2);
    });

    it('reads an unknown stream as empty', async () => {
      expect(await store.readStream(streamName('nobody'))).toEqual([]);
    });

    it('accepts the right numeric revision and refuses a wrong one', async () => {
      const stream = streamName('num');
      await store.append(stream, [event('a'), event('b')], 'no_stream');
      const ok = await store.append(stream, [event('c')], 2);
      expect(ok.events[0]!.sequence).toBe(3);
      await expectWrongVersion(store.append(stream, [event('d')], 2), 3);
      await expectWrongVersion(store.append(stream, [event('d')], 4), 3);
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['a', 'b', 'c']);
    });

    it('treats revision 0 as an empty stream', async () => {
      const stream = streamName('zero');
      expect((await store.append(stream, [event('a')], 0)).events[0]!.sequence).toBe(1);
      await expectWrongVersion(store.append(stream, [event('b')], 0), 1);
      await expectWrongVersion(store.append(streamName('zero'), [event('b')], 1), 0);
    });

    it('accepts "no_stream" only for a stream without events', async () => {
      const stream = streamName('new');
      await store.append(stream, [event('a')], 'no_stream');
      await expectWrongVersion(store.append(stream, [event('b')], 'no_stream'), 1);
      expect(await store.readStream(stream)).toHaveLength(1);
    });

    it('appends with "any" whatever the revision', async () => {
      const stream = streamName('any');
      expect((await store.append(stream, [event('a')], 'any')).events[0]!.sequence).toBe(1);
      expect((await store.append(stream, [event('b'), event('c')], 'any')).events.map((e) => e.sequence)).toEqual([2, 3]);
    });

    it('lets exactly one of 50 concurrent appends with the same expected revision win', async () => {
      const stream = streamName('race');
      await store.append(stream, [event('seed')], 'no_stream');
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => store.append(stream, [event('contender', { i })], 1)),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(49);
      for (const r of lost) {
        expect(r.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect((r.reason as WrongExpectedVersionError).actual).toBe(2);
      }
      const events = await store.readStream(stream);
      expect(events.map((e) => e.type)).toEqual(['seed', 'contender']);
    });

    it('reads all streams in position order, after an exclusive position, within a limit', async () => {
      const from = await store.headPosition();
      const a = streamName('a');
      const b = streamName('b');
      await store.append(a, [event('one')], 'no_stream');
      await store.append(b, [event('two'), event('three')], 'no_stream');
      await store.append(a, [event('four')], 1);

      // On server PostgreSQL a write transaction open anywhere on the server (another suite's)
      // holds readers back until it ends: wait until the four are readable.
      const all = await eventually(async () => {
        const ours = (await readAllAfter(store, from)).filter((e) => e.stream === a || e.stream === b);
        expect(ours.map((e) => e.type)).toEqual(['one', 'two', 'three', 'four']);
        return ours;
      });
      for (let i = 1; i < all.length; i++) expect(all[i - 1]!.position < all[i]!.position).toBe(true);

      const afterSecond = await store.readAll({ after: all[1]!.position, limit: 1 });
      expect(afterSecond.map((e) => e.type)).toEqual(['three']);
      expect(await store.headPosition()).toBe(all[3]!.position);
    });

    it('delivers 2,000 appends from 16 concurrent writers to a live reader exactly once, in order', async () => {
      const prefix = `live-${randomUUID()}`;
      const from = await store.headPosition();
      const writers = 16;
      const perWriter = 125;
      const total = writers * perWriter;

      const seen: RecordedEvent[] = [];
      let stop = false;
      const reader = (async () => {
        let after = from;
        const deadline = Date.now() + 120_000;
        while (!stop && Date.now() < deadline) {
          const page = await store.readAll({ after, limit: 100 });
          if (page.length === 0) {
            await store.waitForEvents(after, { timeoutMs: 500 });
            continue;
          }
          after = page[page.length - 1]!.position;
          seen.push(...page.filter((e) => e.stream.startsWith(prefix)));
          if (seen.length >= total) return;
        }
      })();

      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            // Five streams per writer, so writers both extend streams and start new ones.
            await store.append(`${prefix}-${w}-${i % 5}`, [event('tick', { w, i })], 'any');
          }
        }),
      );
      await reader;
      stop = true;

      expect(seen).toHaveLength(total);
      const keys = seen.map((e) => `${e.data.w}/${e.data.i}`);
      expect(new Set(keys).size).toBe(total);
      for (let i = 1; i < seen.length; i++) expect(seen[i - 1]!.position < seen[i]!.position).toBe(true);
      // Within a stream the reader sees sequences 1, 2, 3, ... in order.
      const lastSeq = new Map<string, number>();
      for (const e of seen) {
        expect(e.sequence).toBe((lastSeq.get(e.stream) ?? 0) + 1);
        lastSeq.set(e.stream, e.sequence);
      }
    });

    it('wakes a waiting reader when an event is appended', async () => {
      const from = await store.headPosition();
      const watch = subject.watchLooks?.() ?? watchReadAll(store);
      const woke = store.waitForEvents(from, { timeoutMs: 60_000 }).then(() => 'woke');
      // Every adapter looks at the log once its waiter is registered (so nothing slips between
      // a reader's last read and its wait): once that look is done, the append must wake it.
      await eventually(() => expect(watch.looks().length).toBeGreaterThan(0));
      await watch.looks()[0];
      watch.stop();
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise((resolve) => (timer = setTimeout(() => resolve('gave up'), 10_000)));
      await store.append(streamName('wake'), [event('ping')], 'no_stream');
      expect(await Promise.race([woke, gaveUp])).toBe('woke');
      clearTimeout(timer);
    });

    describe('bad input writes nothing', () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const cases: [string, string, NewEvent[], RegExp][] = [
        ['an empty stream name', '', [event('a')], /stream name/],
        ['a blank stream name', '   ', [event('a')], /stream name/],
        ['no events', 'S', [], /at least one event/],
        ['an event without a type', 'S', [{ data: {} } as unknown as NewEvent], /type/],
        ['an event with an empty type', 'S', [{ type: '', data: {} }], /type/],
        ['a bigint in the payload', 'S', [{ type: 'x', data: { n: 1n } as any }], /not JSON-serializable/],
        ['a function in the payload', 'S', [{ type: 'x', data: { f: () => 1 } as any }], /not JSON-serializable/],
        ['a circular payload', 'S', [{ type: 'x', data: circular as any }], /circular/],
        ['NaN in the payload', 'S', [{ type: 'x', data: { n: Number.NaN } }], /not JSON-serializable/],
        ['a Date in the payload', 'S', [{ type: 'x', data: { d: new Date() } as any }], /not JSON-serializable/],
        ['a payload that is not an object', 'S', [{ type: 'x', data: 'text' as any }], /JSON object/],
        ['NUL in the stream name', 'user-a\u0000b', [event('a')], /stream name/],
        ['a lone surrogate in the stream name', 'user-a\ud800', [event('a')], /stream name/],
        ['a stream name over 256 characters', `user-${'🙂'.repeat(252)}`, [event('a')], /stream name/],
        ['NUL in the type', 'S', [{ type: 'x\u0000', data: {} }], /type/],
        ['NUL in a payload string', 'S', [{ type: 'x', data: { s: 'a\u0000' } }], /not storable text/],
        ['a lone surrogate in a payload string', 'S', [{ type: 'x', data: { s: ['\udc00'] } }], /not storable text/],
        ['NUL in a payload key', 'S', [{ type: 'x', data: { 'a\u0000': 1 } }], /not storable text/],
        ['NUL in the metadata', 'S', [{ type: 'x', data: {}, metadata: { editor: '\u0000' } }], /not storable text/],
        ['a good event followed by a bad one', 'S', [event('ok'), { type: 'x', data: { n: 1n } as any }], /not JSON-serializable/],
      ];
      it.each(cases)('refuses %s with a clear error', async (_label, streamLabel, events, message) => {
        const head = await store.headPosition();
        const stream = streamLabel === 'S' ? streamName('bad') : streamLabel;
        const err = await store.append(stream, events, 'any').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(InvalidAppendError);
        expect((err as Error).message).toMatch(message);
        expect(await store.headPosition()).toBe(head);
        if (stream.trim() !== '') expect(await store.readStream(stream)).toEqual([]);
      });

      it('holds a stream named by any id of up to 200 characters, emoji included', async () => {
        const stream = `user-${'🙂'.repeat(200)}`;
        await store.append(stream, [event('a')], 'no_stream');
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('refuses a malformed expected revision', async () => {
        const stream = streamName('bad-rev');
        for (const bad of [-1, 1.5, 'latest' as any]) {
          await expect(store.append(stream, [event('a')], bad)).rejects.toBeInstanceOf(InvalidAppendError);
        }
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    // Optional capability: adapters without multi-stream transactions leave appendMany out.
    describe('multi-stream append (where the adapter has it)', () => {
      const appendMany = (...args: Parameters<NonNullable<EventStore['appendMany']>>) => store.appendMany!(...args);
      const when = (title: string, fn: () => Promise<void>, timeout?: number) =>
        it(title, async () => {
          if (!store.appendMany) return; // the capability is absent: nothing of it to check
          await fn();
        }, timeout);

      when('appends to several streams at once, results in the order asked', async () => {
        const a = streamName('many-a');
        const b = streamName('many-b');
        await store.append(b, [event('b.first')], 'no_stream');
        const results = await appendMany([
          { stream: b, events: [event('b.second'), event('b.third')], expectedRevision: 1 },
          { stream: a, events: [event('a.first')], expectedRevision: 'no_stream' },
        ]);
        expect(results.map((r) => r.events.map((e) => e.sequence))).toEqual([[2, 3], [1]]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([3, 1]);
        expect((await store.readStream(a)).map((e) => e.type)).toEqual(['a.first']);
        expect((await store.readStream(b)).map((e) => e.type)).toEqual(['b.first', 'b.second', 'b.third']);
      });

      when('writes nothing at all when one stream has another revision', async () => {
        const a = streamName('many-a');
        const b = streamName('many-b');
        await store.append(b, [event('b.first')], 'no_stream');
        const head = await store.headPosition();
        await expectWrongVersion(
          appendMany([
            { stream: a, events: [event('a.first')], expectedRevision: 'no_stream' },
            { stream: b, events: [event('b.second')], expectedRevision: 'no_stream' },
          ]),
          1,
        );
        expect(await store.readStream(a)).toEqual([]);
        expect((await store.readStream(b)).map((e) => e.type)).toEqual(['b.first']);
        expect(await store.headPosition()).toBe(head);
      });

      when('refuses bad input in any part before writing anything', async () => {
        const a = streamName('many-a');
        const head = await store.headPosition();
        await expect(appendMany([])).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(
          appendMany([
            { stream: a, events: [event('a.first')], expectedRevision: 'no_stream' },
            { stream: a, events: [event('a.again')], expectedRevision: 'any' },
          ]),
        ).rejects.toThrow(/appears twice/);
        await expect(
          appendMany([
            { stream: a, events: [event('a.first')], expectedRevision: 'no_stream' },
            { stream: streamName('many-b'), events: [{ type: 'x', data: { n: 1n } as any }], expectedRevision: 'any' },
          ]),
        ).rejects.toBeInstanceOf(InvalidAppendError);
        expect(await store.readStream(a)).toEqual([]);
        expect(await store.headPosition()).toBe(head);
      });

      when('lets exactly one of 30 concurrent appends claiming the same stream win, and the losers write nothing', async () => {
        const shared = streamName('many-shared');
        const own = Array.from({ length: 30 }, () => streamName('many-own'));
        const outcomes = await Promise.allSettled(
          own.map((stream, i) =>
            appendMany([
              { stream: shared, events: [event('claimed', { by: i })], expectedRevision: 'no_stream' },
              { stream, events: [event('created')], expectedRevision: 'no_stream' },
            ]),
          ),
        );
        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedVersionError);
        const claims = await store.readStream(shared);
        expect(claims.map((e) => e.data)).toEqual([{ by: winners[0] }]);
        const written = await Promise.all(own.map((stream) => store.readStream(stream)));
        expect(written.map((events) => events.length)).toEqual(own.map((_, i) => (i === winners[0] ? 1 : 0)));
      });

      when('does not deadlock when concurrent appends name the same streams in opposite orders', async () => {
        const a = streamName('many-a');
        const b = streamName('many-b');
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            appendMany(
              i % 2 === 0
                ? [
                    { stream: a, events: [event('x')], expectedRevision: 'any' },
                    { stream: b, events: [event('x')], expectedRevision: 'any' },
                  ]
                : [
                    { stream: b, events: [event('x')], expectedRevision: 'any' },
                    { stream: a, events: [event('x')], expectedRevision: 'any' },
                  ],
            ),
          ),
        );
        expect((await store.readStream(a)).map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect((await store.readStream(b)).map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });
    });
  });
}
