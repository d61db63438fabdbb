import { performance } from 'node:perf_hooks';
import type { EventStore } from '#eventstore';
import type { Logger } from '#logging';
import type { ProjectionMetrics } from './metrics.js';
import type { ProjectionRunner } from './projection-runner.js';
import { ProjectionFailedError } from './projection.js';
import type { ActiveVersions } from './versions.js';

export interface ReadYourWritesOptions {
  store: EventStore;
  /** The runner of the read model the queries read (versioned). */
  runner: ProjectionRunner;
  versions: ActiveVersions;
  logger: Logger;
  metrics: ProjectionMetrics;
  /** How long a query waits at most (2 s). */
  timeoutMs?: number;
}

export interface Settled {
  /** The version whose tables the query reads. */
  version: number;
  /** False when the query answers without the wait having finished (time-out, failed projection). */
  caughtUp: boolean;
}

/**
 * Read-your-writes for the queries of one read model: a read that comes after a write sees it.
 * Before a query reads, `settle()` takes the store's head as of the request's start
 * (`headPosition()`, ungated: it includes a write committed while an older transaction is
 * still open), and waits, bounded by 2 s, until the runner's checkpoint of the version the
 * query will read has passed it. A write the caller made before the request is at or before
 * that head, so it is in the tables read.
 *
 * The version read is the active one (ActiveVersions: projection_versions, cached 1 s and
 * dropped on a switch's NOTIFY), or the runner's if it has already moved on (versions only
 * grow). During a switch the runner may still be on the old version; the wait asks for the
 * new one (and wakes the runner, which reads the active version at its next batch).
 *
 * On a time-out, or when the projection has stopped on a failing event, the query still
 * answers with what the tables hold, and says so: one pino warn line and
 * `projection_read_your_writes_timeouts_total{projection,reason}`.
 */
export class ReadYourWrites {
  private readonly timeoutMs: number;

  constructor(private readonly options: ReadYourWritesOptions) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  async settle(query: string): Promise<Settled> {
    const { store, runner, versions, metrics, logger } = this.options;
    const name = runner.name;
    const started = performance.now();
    const head = await store.headPosition();
    let version = Math.max(await versions.get(name), runner.status().version ?? 0);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if ((runner.status().version ?? 0) < version) runner.wake();
      let reached: boolean;
      try {
        reached = await runner.waitUntil(head, Math.max(0, deadline - Date.now()), version);
      } catch (err) {
        if (!(err instanceof ProjectionFailedError)) throw err;
        metrics.readYourWritesMiss(name, 'failed');
        logger.warn(
          { projection: name, query, head, version, checkpoint: runner.status().checkpoint, failure: err.failure.event },
          `read-your-writes: projection ${name} is stopped by a failing event (${err.failure.event.type} ${err.failure.event.id}); ` +
            `${query} answers with what the read model has (checkpoint ${runner.status().checkpoint || '(start)'}, head ${head})`,
        );
        return { version, caughtUp: false };
      }
      if (!reached) {
        metrics.readYourWritesMiss(name, 'timeout');
        logger.warn(
          { projection: name, query, head, version, runnerVersion: runner.status().version, checkpoint: runner.status().checkpoint, waitedMs: this.timeoutMs },
          `read-your-writes: projection ${name} did not pass the store's head ${head} within ${this.timeoutMs} ms ` +
            `(checkpoint ${runner.status().checkpoint || '(start)'}, version ${version}); ${query} answers with what the read model has`,
        );
        return { version, caughtUp: false };
      }
      // The runner may have moved on to a newer version while we waited: read that one.
      const current = runner.status().version ?? version;
      if (current === version) break;
      version = current;
      versions.observe(name, version);
    }
    metrics.readYourWritesWaited(name, (performance.now() - started) / 1000);
    return { version, caughtUp: true };
  }
}
