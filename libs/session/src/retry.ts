import { setTimeout as sleep } from 'node:timers/promises';
import { isDomainError } from '#errors';
import type { EventStore, RecordedEvent } from '#eventstore';
import { decideOnStream, type Decided, type Decision } from '#kernel';

const ROUNDS = 6;

/**
 * decideOnStream, given more patience for the hot user stream of an attack: ten wrong codes
 * at once are ten writers on one stream, and decideOnStream gives up after five conflicts
 * (Aborted `COMMAND-Conc1`). Each round re-reads and re-decides from the latest state, so a
 * retry can never double-count; between rounds we wait a few random milliseconds.
 */
export async function decideOnStreamPatiently<S, R>(
  store: EventStore,
  stream: string,
  fold: (events: readonly RecordedEvent[]) => S & { version: number },
  decide: (state: S & { version: number }) => Decision<R>,
): Promise<Decided<S, R>> {
  for (let round = 1; ; round++) {
    try {
      return await decideOnStream(store, stream, fold, decide);
    } catch (err) {
      if (!(isDomainError(err) && err.id === 'COMMAND-Conc1') || round >= ROUNDS) throw err;
      await sleep(Math.floor(Math.random() * 5 * round));
    }
  }
}
