import { randomUUID } from 'node:crypto';
import { aborted } from '#errors';
import {
  WrongExpectedVersionError,
  type AppendedEvent,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '#eventstore';

export interface Decision<R> {
  events: NewEvent[];
  result: R;
}

export interface Decided<S, R> {
  state: S;
  result: R;
  appended: AppendedEvent[];
}

const MAX_ATTEMPTS = 5;

/**
 * Load a stream, fold it, decide, append with the revision that was read. A conflict means
 * another writer won: load again and decide again, so the decision always sees the latest
 * state (two concurrent AddOTPEmail calls: one appends, the other then sees the factor and
 * fails with AlreadyExists). `decide` throws a DomainError to refuse; nothing is written.
 */
export async function decideOnStream<S, R>(
  store: EventStore,
  stream: string,
  fold: (events: readonly RecordedEvent[]) => S & { version: number },
  decide: (state: S & { version: number }) => Decision<R>,
): Promise<Decided<S, R>> {
  for (let attempt = 1; ; attempt++) {
    const state = fold(await store.readStream(stream));
    const { events, result } = decide(state);
    if (events.length === 0) return { state, result, appended: [] };
    try {
      const { events: appended } = await store.append(stream, events, state.version);
      return { state, result, appended };
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError) || attempt >= MAX_ATTEMPTS) {
        if (err instanceof WrongExpectedVersionError) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
        throw err;
      }
    }
  }
}

export const newCorrelationId = () => randomUUID();
