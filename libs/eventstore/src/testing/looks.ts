import { jest } from '@jest/globals';
import type { SqlDatabase, Statement } from '#database';
import { LOOK_STATEMENT } from '#eventstore';

/**
 * Watches the looks at the log a store makes inside waitForEvents, after its waiter is
 * registered: a test that must know the look is done (so that only a wake-up can end the wait
 * from then on) awaits one.
 */
export interface LookWatch {
  /** Each look so far, as the promise of its outcome. */
  looks(): Promise<unknown>[];
  stop(): void;
}

/** A PostgresEventStore's looks: one statement each on its database. */
export function watchPostgresLooks(database: SqlDatabase): LookWatch {
  const runs = jest.spyOn(database, 'run');
  return {
    looks: () =>
      runs.mock.calls.flatMap((call, i) => ((call[0] as Statement).name === LOOK_STATEMENT.name ? [runs.mock.results[i]!.value as Promise<unknown>] : [])),
    stop: () => runs.mockRestore(),
  };
}
