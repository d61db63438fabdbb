/**
 * Anything that follows the event store from a checkpoint (a projection runner, the notifier)
 * and can say when its checkpoint has passed a position.
 */
export interface CheckpointFollower {
  /** True once the checkpoint is at or after `position`, false after `timeoutMs`. */
  waitForCheckpoint(position: string, timeoutMs: number): Promise<boolean>;
}

/**
 * Resolves once the follower's checkpoint has passed `position`: everything up to that event is
 * handled, so what it did (or did not do) for it can be asserted. This, not a fixed sleep, is
 * how a test shows that something did not happen. Rejects after `timeoutMs` (10 s).
 */
export async function checkpointPassed(follower: CheckpointFollower, position: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(await follower.waitForCheckpoint(position, timeoutMs))) {
    throw new Error(`the checkpoint did not pass ${position || '(start)'} within ${timeoutMs} ms`);
  }
}
