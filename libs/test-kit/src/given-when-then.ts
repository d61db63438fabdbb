import { expect } from '@jest/globals';
import type { DomainError } from '#errors';

/**
 * Given/When/Then for pure decide functions, one helper for every stream: a state folded from
 * the given events goes in; a value (events, a decision) or a DomainError comes out.
 *   givenState(fold(events)).when((state) => decide(state, ...)).then(expected) / .thenFails(kind, id)
 * Each domain's testing entry wraps it with its own fold and event fixtures.
 */
export function givenState<S>(state: S) {
  return {
    state,
    /** `compare` picks what `then` compares (e.g. events without metadata); `then` returns the whole value. */
    when<T>(decide: (state: S) => T, compare?: (value: T) => unknown) {
      return outcome(() => decide(state), compare);
    },
  };
}

/** Runs `fn` and compares its result, or its DomainError's kind and id. */
export function outcome<T>(fn: () => T, compare: (value: T) => unknown = (value) => value) {
  let result: { value: T } | { error: unknown };
  try {
    result = { value: fn() };
  } catch (error) {
    result = { error };
  }
  return {
    then(expected: unknown): T {
      if ('error' in result) throw result.error;
      expect(compare(result.value)).toEqual(expected);
      return result.value;
    },
    thenFails(kind: DomainError['kind'], id: string) {
      if (!('error' in result)) throw new Error(`expected ${kind} ${id}, got ${JSON.stringify(result.value)}`);
      expect(result.error).toMatchObject({ name: 'DomainError', kind, id });
    },
  };
}
