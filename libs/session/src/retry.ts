import type { RetryOptions } from '#kernel';

/**
 * How the session flow writes: with more patience than decideOnStream's default (5 attempts at
 * once) because a user stream can be hot during an attack: ten wrong codes at once are ten
 * writers on one stream. Every attempt re-reads and re-decides from the latest state, so a retry
 * can never double-count; between attempts the writers wait a random part of a doubling delay,
 * so that those that collided once spread out instead of colliding again.
 */
export const SESSION_WRITE_RETRY: RetryOptions = {
  attempts: 30,
  backoff: { initialMs: 2, maxMs: 20, jitter: true },
};
