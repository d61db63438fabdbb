import { describe, expect, it, jest } from '@jest/globals';
import { describeWhen, eventually } from '#test-kit';
import { eventStoreContract } from '#eventstore/testing';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';

// A real EventStoreDB, e.g. `docker compose up eventstore` and
// EVENTSTORE_CONNECTION_STRING="esdb://localhost:2113?tls=false". Every case writes streams
// with random names, so the suite can share a server with others; it deletes nothing.
const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;
const NO_SERVER_REASON =
  'EVENTSTORE_CONNECTION_STRING is not set; no EventStoreDB server can be installed on this machine (docker-compose.yml brings one)';

describeWhen(Boolean(connectionString), NO_SERVER_REASON, 'EventStoreDbEventStore on EventStoreDB', () => {
  // The PostgreSQL suites add an out-of-order commit case (a transaction that commits after a
  // later one must not be skipped by readers). It is not part of this suite: EventStoreDB
  // orders commits itself, and $all only ever grows at its end.
  eventStoreContract('EventStoreDbEventStore on EventStoreDB', async () => {
    const store = EventStoreDbEventStore.connect(connectionString!);
    return { store, cleanup: () => store.close() };
  });

  describe('two clients', () => {
    it('wakes a reader on another client through its own subscription', async () => {
      // A second client shares nothing in memory with the first, as a second process would not.
      const writer = EventStoreDbEventStore.connect(connectionString!);
      const reader = EventStoreDbEventStore.connect(connectionString!);
      try {
        const from = await reader.headPosition();
        const reads = jest.spyOn(reader, 'readAll');
        const woke = reader.waitForEvents(from, { timeoutMs: 60_000 }).then(() => 'woke');
        // The waiter subscribes, then looks at the log once: once that look is done, only the
        // subscription can wake it (unless another writer on a shared server came first).
        await eventually(() => expect(reads).toHaveBeenCalled());
        await reads.mock.results[0]!.value;
        reads.mockRestore();
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = new Promise((resolve) => (timer = setTimeout(() => resolve('gave up'), 10_000)));
        const appended = await writer.append(`wake-${Date.now()}`, [{ type: 'ping', data: {} }], 'no_stream');
        expect(await Promise.race([woke, gaveUp])).toBe('woke');
        clearTimeout(timer);
        expect((await reader.readAll({ after: from })).map((e) => e.position)).toContain(appended.events[0]!.position);
      } finally {
        await reader.close();
        await writer.close();
      }
    });
  });
});
