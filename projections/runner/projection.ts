import type { Migration, Transaction } from 'kysely';
import type { Position, RecordedEvent } from '../../libs/eventstore/src/index.js';

/**
 * Applies one event to a read model, inside the runner's transaction (the same one that
 * stores the checkpoint). A reducer must be idempotent: reducing an event a second time (after
 * a rewind, or by a second process) changes nothing; the row's `sequence` tells.
 * Throwing stops the projection at this event: it is never skipped.
 */
export type Reducer = (trx: Transaction<any>, event: RecordedEvent) => Promise<void>;

/** A read model: what it is called, how its tables are made, how each event type changes them. */
export interface Projection {
  /** The checkpoint's key in projection_checkpoints; one runner per name. */
  readonly name: string;
  /** The kysely history table of the projection's own migrations (`<historyTable>_migrations`). */
  readonly historyTable: string;
  readonly migrations: Record<string, Migration>;
  /** By event type. Events of other types only move the checkpoint. */
  readonly reducers: Readonly<Record<string, Reducer>>;
}

/**
 * idle: built, never started · running: following the store · stopping: stop() waits for the
 * batch in hand · stopped · failed: a reducer threw; the checkpoint is just before that event.
 */
export type ProjectionState = 'idle' | 'running' | 'stopping' | 'stopped' | 'failed';

/** The event a reducer could not apply, and why. */
export interface ProjectionFailure {
  projection: string;
  event: Pick<RecordedEvent, 'id' | 'stream' | 'type' | 'sequence' | 'position'>;
  /** The reducer's error message. */
  reason: string;
  cause: unknown;
  at: Date;
}

export interface ProjectionStatus {
  name: string;
  state: ProjectionState;
  /** The last checkpoint this runner committed or read; undefined before the first read. */
  checkpoint: Position | undefined;
  failure?: ProjectionFailure;
}

export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  constructor(readonly failure: ProjectionFailure) {
    super(
      `projection ${failure.projection} failed on event ${failure.event.id} (${failure.event.type}, stream ${failure.event.stream}, ` +
        `sequence ${failure.event.sequence}, position ${failure.event.position}): ${failure.reason}`,
      { cause: failure.cause },
    );
  }
}
