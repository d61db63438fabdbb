import type { Migration, QueryExecutorProvider, Transaction } from 'kysely';
import type { Position, RecordedEvent } from '#eventstore';

/**
 * Applies one event to a read model, inside the runner's transaction (the same one that
 * stores the checkpoint). A reducer must be idempotent: reducing an event a second time (after
 * a rewind, or by a second process) changes nothing; the row's `sequence` tells.
 * Throwing stops the projection at this event: it is never skipped.
 */
export type Reducer = (trx: Transaction<any>, event: RecordedEvent) => Promise<void>;

/**
 * Applies a whole batch in the runner's transaction with exactly the result of the reducers
 * applied one by one (fold the batch in memory, write with a few multi-row statements). When it
 * throws, the runner rolls the batch back and applies it again event by event, so a bad event
 * is found, the events before it are kept, and the failure names it as without a batch.
 */
export type BatchReducer = (trx: Transaction<any>, events: readonly RecordedEvent[]) => Promise<void>;

/** A read model: what it is called, how its tables are made, how each event type changes them. */
export interface Projection {
  /** The checkpoint's key in projection_checkpoints; one runner per name. */
  readonly name: string;
  /** The kysely history table of the projection's own migrations (`<historyTable>_migrations`). */
  readonly historyTable: string;
  readonly migrations: Record<string, Migration>;
  /** By event type. Events of other types only move the checkpoint. */
  readonly reducers: Readonly<Record<string, Reducer>>;
  /** Optional fast path for a whole batch; must give the same rows as `reducers`. */
  readonly applyBatch?: BatchReducer;
}

/** One table of a read model, as `projections verify` compares it. */
export interface ProjectionTable {
  /** Schema-qualified name, e.g. projections.users_v7. */
  name: string;
  /** The primary key's columns: the order of rows in the checksum and how differences are named. */
  key: string[];
  /** Every column, in the order they are hashed. */
  columns: string[];
}

/**
 * A read model that can be rebuilt side by side (`projections replay`): every version has its
 * own tables and its own checkpoint, and `projections.projection_versions` says which version
 * the service reads and the server's runner keeps up to date. Version 1 is what the
 * projection's migrations create.
 */
export interface VersionedProjection {
  /** The read model's name, e.g. 'users': the key in projection_versions and in the metrics. */
  readonly name: string;
  readonly historyTable: string;
  /** Create version 1's tables. */
  readonly migrations: Record<string, Migration>;
  /** The projection that maintains `version` (its reducers write that version's tables; its name is the version's checkpoint). */
  forVersion(version: number): Projection;
  /** The tables of `version`, in the order verify compares them. */
  tables(version: number): ProjectionTable[];
  /** Creates the (empty) tables of `version` (or of scratch tables named by `suffix`). */
  createTables(db: QueryExecutorProvider, target: VersionTarget): Promise<void>;
  dropTables(db: QueryExecutorProvider, target: VersionTarget): Promise<void>;
  /** A projection writing scratch tables (verify): tables named with `suffix`, checkpoint `name@suffix`. */
  forScratch(suffix: string): { projection: Projection; tables: ProjectionTable[] };
}

/** A version's tables, or scratch tables (`projections verify`) named by a suffix. */
export type VersionTarget = { version: number } | { scratch: string };

/** The checkpoint name of a version: `users` for version 1 (as before versions existed), `users@7` after. */
export function versionCheckpointName(name: string, version: number): string {
  return version === 1 ? name : `${name}@${version}`;
}

/** The version a checkpoint name belongs to, or undefined when it is not one of `name`'s. */
export function versionOfCheckpointName(name: string, checkpointName: string): number | undefined {
  if (checkpointName === name) return 1;
  const match = /^(.+)@(\d+)$/.exec(checkpointName);
  return match && match[1] === name ? Number(match[2]) : undefined;
}

export function isVersionedProjection(p: Projection | VersionedProjection): p is VersionedProjection {
  return typeof (p as VersionedProjection).forVersion === 'function';
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
  /** Versioned projections: the version the runner follows (the active one, as of its last batch). */
  version?: number;
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
