import { WrongExpectedVersionError, type EventStore } from '#eventstore';
import { counter, histogram } from '#metrics';

function appendMetrics() {
  return {
    appends: counter({
      name: 'eventstore_appends_total',
      help: 'Appends to the event store, by outcome (ok, conflict = WrongExpectedVersion, error)',
      labelNames: ['outcome'] as const,
    }),
    events: counter({ name: 'eventstore_appended_events_total', help: 'Events written by successful appends' }),
    duration: histogram({
      name: 'eventstore_append_duration_seconds',
      help: 'Time an append took, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
  };
}

/**
 * Counts and times the store's appends (successes, conflicts, failures). It wraps `append` on the
 * instance itself rather than putting another object in front, so the store stays what it is
 * (the projections' lag measurement takes a faster path for the PostgreSQL store, by its class).
 * Applied once where the stores are opened; applying it twice is harmless.
 */
export function withAppendMetrics<S extends EventStore>(store: S): S {
  const marked = store as S & { [instrumented]?: true };
  if (marked[instrumented]) return store;
  const metrics = appendMetrics();
  const append = store.append.bind(store);
  marked.append = async (stream, events, expectedRevision) => {
    const stop = metrics.duration.startTimer();
    try {
      const result = await append(stream, events, expectedRevision);
      metrics.appends.inc({ outcome: 'ok' });
      metrics.events.inc(events.length);
      stop({ outcome: 'ok' });
      return result;
    } catch (err) {
      const outcome = err instanceof WrongExpectedVersionError ? 'conflict' : 'error';
      metrics.appends.inc({ outcome });
      stop({ outcome });
      throw err;
    }
  };
  marked[instrumented] = true;
  return store;
}

const instrumented = Symbol('appendMetrics');
