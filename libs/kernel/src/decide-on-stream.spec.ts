import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { invalidArgument } from '#errors';
import type { AppendResult, ExpectedRevision, NewEvent, RecordedEvent } from '#eventstore';
import { FailingAppendStore, testBackends, type TestStores } from '#eventstore/testing';
import { describeWhen } from '#test-kit';
import { backoffDelayMs, decideOnStream, type Decided, type RetryOptions } from './decide-on-stream.js';
import { readStreamOf } from './stream-events.js';

type CounterEvent = { type: 'counter.incremented'; data: { by: number } } | { type: 'counter.reset'; data: Record<string, never> };

const incremented = (by: number): NewEvent<CounterEvent> => ({ type: 'counter.incremented', data: { by } });

interface Counter {
  total: number;
  version: number;
}

function foldCounter(events: readonly RecordedEvent<CounterEvent>[]): Counter {
  let total = 0;
  for (const event of events) total = event.type === 'counter.incremented' ? total + event.data.by : 0;
  return { total, version: events.at(-1)?.sequence ?? 0 };
}

/** A store where, for the next `rivals` appends, another writer appends to the stream first (a sure conflict). */
class RivalStore extends FailingAppendStore {
  rivals = 0;
  override async append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.rivals > 0) {
      this.rivals--;
      await super.append(stream, [incremented(10)], 'any');
    }
    return super.append(stream, events, expected);
  }
}

for (const backend of testBackends('kernel')) {
  describeWhen(backend.available, backend.reason, `decideOnStream on ${backend.label}`, () => {
    let stores: TestStores;
    let store: RivalStore;
    beforeAll(async () => {
      stores = await backend.open();
    });
    afterAll(async () => stores.cleanup());

    // One store for the suite, a fresh stream (and fresh test hooks) for each test.
    let stream = '';
    let streams = 0;
    beforeEach(() => {
      store = new RivalStore(stores.store);
      stream = `counter-${++streams}`;
    });

    const written = async () => (await readStreamOf<CounterEvent>(store, stream)).map((e) => (e.type === 'counter.incremented' ? e.data.by : 0));

    /** Increments by 1; counts the attempts (each attempt decides once). */
    async function increment(options?: RetryOptions): Promise<{ decided?: Decided<Counter, number>; error?: unknown; seen: number[] }> {
      const seen: number[] = [];
      const outcome = await decideOnStream(
        store,
        stream,
        foldCounter,
        (state) => {
          seen.push(state.total);
          return { events: [incremented(1)], result: state.total };
        },
        options,
      ).then(
        (decided) => ({ decided }),
        (error: unknown) => ({ error }),
      );
      return { ...outcome, seen };
    }

    it('after a conflict, decides again on the latest state and appends once', async () => {
      store.rivals = 1;
      const { decided, seen } = await increment();
      expect(seen).toEqual([0, 10]);
      expect(decided).toMatchObject({ result: 10, state: { total: 10, version: 1 }, appended: [{ sequence: 2 }] });
      expect(await written()).toEqual([10, 1]);
    });

    it('gives up after the default 5 attempts with Aborted COMMAND-Conc1, having written nothing of its own', async () => {
      store.rivals = Infinity;
      const { error, seen } = await increment();
      expect(error).toMatchObject({ name: 'DomainError', kind: 'Aborted', id: 'COMMAND-Conc1' });
      expect(seen).toEqual([0, 10, 20, 30, 40]);
      expect(await written()).toEqual([10, 10, 10, 10, 10]);
    });

    it('takes the number of attempts from the options', async () => {
      store.rivals = Infinity;
      const { error, seen } = await increment({ attempts: 2 });
      expect(error).toMatchObject({ kind: 'Aborted', id: 'COMMAND-Conc1' });
      expect(seen).toHaveLength(2);

      store.rivals = 7;
      const patient = await increment({ attempts: 8 });
      expect(patient.seen).toHaveLength(8);
      expect(patient.decided?.appended).toHaveLength(1);
    });

    it('passes a non-retryable append error through at once, with nothing appended', async () => {
      store.failNextAppend(() => true, new Error('disk full'));
      const { error, seen } = await increment();
      expect(error).toEqual(new Error('disk full'));
      expect(seen).toHaveLength(1);
      expect(await written()).toEqual([]);
    });

    it('passes a refusal of decide through at once, with nothing appended', async () => {
      const refused = await decideOnStream(store, stream, foldCounter, () => {
        throw invalidArgument('TEST-Nope1', 'Errors.Test');
      }).catch((err: unknown) => err);
      expect(refused).toMatchObject({ name: 'DomainError', kind: 'InvalidArgument', id: 'TEST-Nope1' });
      expect(await written()).toEqual([]);
    });

    it('retries what retryOn accepts, and passes the last such error through when the attempts run out', async () => {
      const transient = (err: unknown) => err instanceof Error && err.message === 'connection reset';
      store.failNextAppend(() => true, new Error('connection reset'));
      const recovered = await increment({ retryOn: transient });
      expect(recovered.seen).toEqual([0, 0]);
      expect(await written()).toEqual([1]);

      store.failNextAppend(() => true, new Error('connection reset'));
      const exhausted = await increment({ retryOn: transient, attempts: 1 });
      expect(exhausted.error).toEqual(new Error('connection reset'));
      expect(await written()).toEqual([1]);
    });

    it('waits the backoff between attempts', async () => {
      store.rivals = 2;
      const started = performance.now();
      const { decided, seen } = await increment({ backoff: { initialMs: 40, maxMs: 1_000 } });
      // 40 ms after the first conflict, 80 ms after the second.
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
      expect(seen).toHaveLength(3);
      expect(decided?.appended).toHaveLength(1);
    });
  });
}

describe('backoffDelayMs', () => {
  it('waits nothing without a backoff', () => {
    expect([1, 2, 3].map((attempt) => backoffDelayMs(undefined, attempt))).toEqual([0, 0, 0]);
  });

  it('doubles from initialMs and stops at maxMs', () => {
    const backoff = { initialMs: 5, maxMs: 30 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(backoff, attempt))).toEqual([5, 10, 20, 30, 30]);
  });

  it('with jitter, waits a random part of the delay', () => {
    const backoff = { initialMs: 8, maxMs: 100, jitter: true };
    expect(backoffDelayMs(backoff, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(backoff, 3, () => 0.5)).toBe(16);
    expect(backoffDelayMs(backoff, 3, () => 0.999)).toBe(31);
  });
});
