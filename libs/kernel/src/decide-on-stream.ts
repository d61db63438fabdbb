import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { aborted } from '#errors';
import { WrongExpectedVersionError, type AnyEvent, type AppendedEvent, type EventStore, type NewEvent, type ReadStreamOptions, type RecordedEvent } from '#eventstore';
import { asStreamEvents } from './stream-events.js';

/** What a decide function returns: the events to append (none: nothing to write) and a result for the caller. */
export interface Decision<R, E extends AnyEvent = AnyEvent> {
  events: NewEvent<E>[];
  result: R;
}

export interface Decided<S, R> {
  state: S;
  result: R;
  appended: AppendedEvent[];
}

/** Waits between attempts: `initialMs` before the second, doubling each time, never more than `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  /**
   * Wait a random time between 0 and the computed delay instead (full jitter), so that writers
   * that collided once do not collide again in lock step.
   */
  jitter?: boolean;
}

export interface RetryOptions {
  /** How many times to load, decide and append in all, at least 1. Default 5. */
  attempts?: number;
  /** The wait between attempts. Default: none, the next attempt starts at once. */
  backoff?: Backoff;
  /**
   * Whether an error of an attempt (reading, deciding or appending) is worth another one.
   * Default: only WrongExpectedVersionError, another writer came first. Anything else is
   * thrown as it is.
   */
  retryOn?: (err: unknown) => boolean;
}

/** How decideOnStream reads the stream, and how often it tries. */
export interface DecideOptions extends RetryOptions {
  /** Passed to every read of the stream (`{ personalData: false }`: the decision needs no names or addresses). */
  read?: ReadStreamOptions;
}

export const DEFAULT_ATTEMPTS = 5;

export const isConflict = (err: unknown): boolean => err instanceof WrongExpectedVersionError;

/**
 * The wait after failed attempt number `attempt` (1-based): initialMs · 2^(attempt-1), at most
 * maxMs; with jitter, `random` (in [0, 1)) scales it.
 */
export function backoffDelayMs(backoff: Backoff | undefined, attempt: number, random: () => number = Math.random): number {
  if (!backoff) return 0;
  const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return backoff.jitter ? Math.floor(random() * delay) : delay;
}

/**
 * Load a stream, fold it, decide, append with the revision that was read. A conflict means
 * another writer won: load again and decide again, so the decision always sees the latest
 * state (two concurrent AddOTPEmail calls: one appends, the other then sees the factor and
 * fails with AlreadyExists). `decide` throws a DomainError to refuse; nothing is written.
 *
 * `E` is the stream's event union, taken from `fold`: the fold gets `RecordedEvent<E>` and
 * `decide` must return `NewEvent<E>`. When every attempt failed with a conflict, the caller
 * gets Aborted `COMMAND-Conc1` (ConcurrentWrite); when the last failure was another
 * retryable error, that error.
 */
export async function decideOnStream<S extends { version: number }, R, E extends AnyEvent = AnyEvent>(
  store: EventStore,
  stream: string,
  fold: (events: readonly RecordedEvent<E>[]) => S,
  decide: (state: S) => Decision<R, NoInfer<E>>,
  options: DecideOptions = {},
): Promise<Decided<S, R>> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
  const retryOn = options.retryOn ?? isConflict;
  for (let attempt = 1; ; attempt++) {
    try {
      const state = fold(asStreamEvents<E>(await store.readStream(stream, options.read)));
      const { events, result } = decide(state);
      if (events.length === 0) return { state, result, appended: [] };
      const { events: appended } = await store.append(stream, events, state.version);
      return { state, result, appended };
    } catch (err) {
      if (!retryOn(err)) throw err;
      if (attempt >= attempts) {
        if (isConflict(err)) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
        throw err;
      }
      const delay = backoffDelayMs(options.backoff, attempt);
      if (delay > 0) await sleep(delay);
    }
  }
}

export const newCorrelationId = () => randomUUID();
