import type { EventEmitter } from 'node:events';
import type { WaitOptions } from './event-store.js';

/**
 * The common part of every adapter's waitForEvents: resolve on the first 'appended' signal,
 * on time-out, or on abort. `recheck` runs once the waiter is registered (so nothing slips
 * between the caller's last read and the registration); it resolves true when events are
 * already readable, and gets `isDone` to stop early.
 */
export function waitForWakeUp(
  appended: EventEmitter,
  options: WaitOptions,
  recheck: (isDone: () => boolean) => Promise<boolean>,
): Promise<void> {
  // An abort listener added to a signal already aborted never runs: such a wait ends at once.
  if (options.signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      appended.off('appended', finish);
      options.signal?.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, options.timeoutMs);
    appended.on('appended', finish);
    options.signal?.addEventListener('abort', finish);
    recheck(() => done).then((ready) => ready && finish(), finish);
  });
}
