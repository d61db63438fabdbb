export interface EventuallyOptions {
  /** How long the check may keep failing (10 s). */
  timeoutMs?: number;
  /** The pause between two tries (20 ms). */
  intervalMs?: number;
}

/** Tries the check until it passes; rejects with its last error once `timeoutMs` has passed. */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
