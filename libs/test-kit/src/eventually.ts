export interface EventuallyOptions {
  /** How long to keep trying before giving up with the last failure (default 10 s). */
  timeoutMs?: number;
  /** The pause between two tries (default 20 ms). */
  intervalMs?: number;
}

/**
 * Runs `fn` until it returns without throwing, and returns what it returned. For something that
 * happens in the background (a log line, a file, a status): an assertion inside `fn` fails until
 * it holds. After `timeoutMs` the last failure is rethrown, so the test reports the assertion
 * that never held instead of a bare timeout. A try that is still running when the time is up is
 * awaited, never abandoned.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
