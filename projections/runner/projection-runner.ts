import { performance } from 'node:perf_hooks';
import type { Kysely, Transaction } from 'kysely';
import { CheckpointedConsumer, CheckpointMovedError, type Batch, type CatchUpOptions } from '#consumer';
import { START, comparePositions, type EventStore, type Position, type RecordedEvent } from '#eventstore';
import type { Logger } from '#logging';
import {
  isVersionedProjection,
  ProjectionFailedError,
  type Projection,
  type ProjectionFailure,
  type ProjectionStatus,
  type VersionedProjection,
} from './projection.js';
import { CHECKPOINTS_TABLE } from './schema.js';
import { persistHeartbeat, persistState, type PersistedState } from './state.js';
import { ensureVersionsRow, lockActiveVersionForShare, readActiveVersion } from './versions.js';

export { CatchUpAbortedError } from '#consumer';

export interface ProjectionRunnerOptions {
  /** Where the events come from: any EventStore adapter. */
  store: EventStore;
  /** Where the read model and the checkpoint live (SqlDatabase.db). */
  db: Kysely<any>;
  logger: Logger;
  /** Events per transaction. */
  batchSize?: number;
  /** How long one wait for new events lasts before the runner looks again (a missed wake-up costs at most this; events held back behind an open transaction are the store's to notice). */
  idleTimeoutMs?: number;
  /** First pause after the store or the database failed (not a reducer); doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** The pause after a batch of events no reducer wanted (CheckpointedConsumer's passGatherMs); a waiting reader ends it. */
  passGatherMs?: number;
  /** How often a running runner with nothing to do writes a heartbeat to its checkpoint row (default 15 s). */
  heartbeatMs?: number;
  /** Called after every committed batch (metrics, a replay's progress). */
  onCommit?: (events: number, checkpoint: Position) => void;
  /** Versioned projections: called when the runner starts following another version. */
  onVersion?: (version: number) => void;
}

export type { CatchUpOptions } from '#consumer';

/** The longest a live runner goes without reading the active version (a switch's NOTIFY may be lost). */
const VERSION_RECHECK_MS = 1_000;

/** A replay switched the active version: the batch in hand belongs to a version nobody reads any more. */
class VersionMovedError extends CheckpointMovedError {
  override readonly name = 'VersionMovedError';
}

class ReducerError extends Error {
  constructor(
    readonly index: number,
    readonly event: RecordedEvent,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

interface Waiter {
  position: Position;
  /** Versioned: the checkpoint must be one of this version (or a newer one). */
  version: number | undefined;
  resolve: (reached: boolean) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Keeps one projection up to date on a CheckpointedConsumer: reads the events after its
 * checkpoint in batches (read first, then one transaction that applies the reducers and moves
 * the checkpoint, so a crash never loses or doubles an event and PGlite's single connection is
 * never held while the store is awaited), then follows the store with waitForEvents (which
 * looks again, with a short back-off, while events are held back behind an open transaction).
 *
 * The checkpoint is read from the database before a batch (in the live loop, unless this
 * runner's own last commit set it) and compared-and-set in the batch's commit (row lock): two
 * runners of the same projection (two processes on one server PostgreSQL, or a replay) never
 * move it backwards or apply a batch twice.
 *
 * A reducer that throws stops the projection (state `failed`, an error log line naming the
 * event, the failure stored with the checkpoint for other processes): the events before it in
 * the batch are committed, so the checkpoint is just before the bad event, which is never
 * skipped. `start()` retries from there.
 *
 * A projection with `applyBatch` has its batch folded in one go; if that throws, the batch is
 * rolled back and applied event by event, which finds the bad event as above.
 *
 * Given a VersionedProjection, the runner maintains the ACTIVE version (projection_versions):
 * it reads the active version before a batch and checks it again, with a FOR SHARE lock,
 * inside every batch transaction that writes rows. A replay's switch (an UPDATE of that row)
 * therefore waits for the batch in hand, and the next batch continues on the new version's tables
 * from the new version's checkpoint. `wake()` (on the switch's NOTIFY) ends an idle wait at once
 * and has the version read again. Live batches read the version at most every
 * VERSION_RECHECK_MS otherwise (one statement less per batch under live load): a switch whose
 * NOTIFY was lost is followed within that, and at once by a batch that writes rows (its check
 * fails, the batch is read again).
 */
export class ProjectionRunner {
  private readonly consumer: CheckpointedConsumer;
  private checkpoint: Position | undefined;
  private failure: ProjectionFailure | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly versioned: VersionedProjection | undefined;
  private current: Projection | undefined;
  private version: number | undefined;
  private versionsRowEnsured = false;
  /** performance.now() of the last read of the active version; -Infinity: read it before the next batch. */
  private versionReadAt = -Infinity;
  /** The running state is stored once per followed checkpoint. */
  private persistedRunning = false;
  private lastSignOfLife = 0;

  constructor(
    projection: Projection | VersionedProjection,
    private readonly options: ProjectionRunnerOptions,
  ) {
    if (isVersionedProjection(projection)) this.versioned = projection;
    else this.current = projection;
    this.logger = options.logger.child({ projection: projection.name });
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    const versioned = this.versioned;
    this.consumer = new CheckpointedConsumer({
      store: options.store,
      db: options.db,
      logger: this.logger,
      label: () => `projection ${this.label}`,
      table: { table: CHECKPOINTS_TABLE, touch: ['heartbeat_at'] },
      checkpointName: () => this.current!.name,
      handler: (batch) => this.handle(batch),
      batchSize: options.batchSize ?? 200,
      idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
      ...(options.passGatherMs !== undefined ? { passGatherMs: options.passGatherMs } : {}),
      retryDelayMs: options.retryDelayMs ?? 1_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      ...(versioned
        ? {
            guard: async (trx: Transaction<any>) => {
              if ((await lockActiveVersionForShare(trx, versioned.name)) !== this.version) {
                this.versionReadAt = -Infinity;
                throw new VersionMovedError(`the active version of ${versioned.name} changed under this batch`);
              }
            },
          }
        : {}),
      beforeBatch: (live) => this.beforeBatch(live),
      afterIdle: () => this.heartbeat(),
      onCheckpoint: (position) => this.observe(position),
      onStopped: (failed) => this.stopped(failed),
      isFatal: (err) => err instanceof ProjectionFailedError,
    });
  }

  /** The read model's name ('users'), for a versioned projection; else the projection's (its checkpoint's) name. */
  get name(): string {
    return this.versioned?.name ?? this.current!.name;
  }

  /** The projection in hand: for a versioned one, the followed version's (undefined before the first batch). */
  get projection(): Projection | undefined {
    return this.current;
  }

  /** The checkpoint name in hand: `users`, `users@7`, or the plain projection's name. */
  private get label(): string {
    return this.current?.name ?? this.name;
  }

  status(): ProjectionStatus {
    const state = this.consumer.state;
    return {
      name: this.name,
      state: this.failure ? 'failed' : state === 'standby' ? 'running' : state,
      checkpoint: this.checkpoint,
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }

  /** Follows the store in the background until stop(). After a failure, retries the event that failed. */
  start(): void {
    if (this.consumer.running) return;
    if (this.failure) {
      this.logger.info({ event: this.failure.event }, `projection ${this.label}: restarting after a failure, retrying event ${this.failure.event.id}`);
      this.failure = undefined;
    }
    this.persistedRunning = false;
    this.logger.info(`projection ${this.name}: following the event store`);
    this.consumer.start();
  }

  /** Ends following; resolves once the batch in hand (if any) is committed or rolled back. */
  async stop(): Promise<void> {
    await this.consumer.stop();
  }

  /**
   * Ends an idle wait at once (or the next one, if the runner is busy): the runner then runs a
   * batch, which reads the active version. Called on a version switch.
   */
  wake(): void {
    this.versionReadAt = -Infinity;
    this.consumer.wake();
  }

  /**
   * Processes batches until the checkpoint has passed the store's head as it was when catchUp
   * began (tests, CLI): events committed but still held back behind an older open transaction
   * are waited for, not missed. With `until`, stops exactly there instead. Resolves with the
   * checkpoint; rejects with ProjectionFailedError when a reducer fails (or already had), with
   * CatchUpAbortedError when `signal` aborts (between two batches).
   */
  catchUp(options: CatchUpOptions = {}): Promise<Position> {
    return this.consumer.catchUp(options);
  }

  /**
   * Resolves true once the checkpoint is at or after `position`, false after `timeoutMs`;
   * rejects with ProjectionFailedError if the projection fails (or has failed) before that.
   * With `version` (versioned projections), only a checkpoint of that version or a newer one
   * counts: read-your-writes waits for the version it is about to read.
   */
  waitUntil(position: Position, timeoutMs: number, version?: number): Promise<boolean> {
    if (this.satisfies(position, version)) return Promise.resolve(true);
    if (this.failure) return Promise.reject(new ProjectionFailedError(this.failure));
    // A reader waits: a gathering pause after events this projection had no use for ends now.
    this.consumer.hurry();
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        position,
        version,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      waiter.timer.unref?.();
      this.waiters.add(waiter);
    });
  }

  /** Resolves true once the checkpoint is at or after `position`, false after `timeoutMs` (waitUntil without a version). */
  waitForCheckpoint(position: Position, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(position, timeoutMs);
  }

  /** Before every batch: a stored failure stops it, a versioned runner follows the active version, a live one says it runs. */
  private async beforeBatch(live: boolean): Promise<void> {
    if (this.failure) throw new ProjectionFailedError(this.failure);
    if (this.versioned) await this.followActiveVersion(live);
    if (live && !this.persistedRunning) {
      await this.persist('running');
      this.persistedRunning = true;
    }
  }

  private async stopped(failed: boolean): Promise<void> {
    this.logger.info({ checkpoint: this.checkpoint }, `projection ${this.label}: stopped at checkpoint ${this.checkpoint ?? START}`);
    if (!failed && !this.failure && this.current) await this.persist('stopped');
  }

  /** One batch: applied and committed; on a failing reducer, the events before it committed and the projection failed. */
  private async handle(batch: Batch): Promise<void> {
    const projection = this.current!;
    const { events } = batch;
    try {
      await this.commit(batch, projection, events);
    } catch (err) {
      if (!(err instanceof ReducerError)) throw err;
      if (err.index > 0) {
        // Keep what the events before the bad one did: the checkpoint ends just before it (saved
        // now, even when they needed nothing: the loop ends here).
        await this.commit(batch, projection, events.slice(0, err.index), true).catch((prefixErr: unknown) =>
          this.logger.warn({ err: prefixErr }, `projection ${this.label}: could not commit the events before the failing one`),
        );
      }
      throw await this.fail(err);
    }
  }

  /**
   * Versioned: reads the active version (live batches: unless read less than
   * VERSION_RECHECK_MS ago and not woken since); on a change, continues on that version's tables
   * and checkpoint.
   */
  private async followActiveVersion(live: boolean): Promise<void> {
    const { db } = this.options;
    if (!this.versionsRowEnsured) {
      await ensureVersionsRow(db, this.versioned!.name);
      this.versionsRowEnsured = true;
    }
    const now = performance.now();
    if (live && this.version !== undefined && now - this.versionReadAt < VERSION_RECHECK_MS) return;
    this.versionReadAt = now;
    const active = await readActiveVersion(db, this.versioned!.name);
    if (active === this.version) return;
    const previous = this.version;
    this.version = active;
    this.current = this.versioned!.forVersion(active);
    this.checkpoint = undefined;
    this.persistedRunning = false;
    this.logger.info(
      { version: active, previousVersion: previous, checkpointName: this.current.name },
      previous === undefined
        ? `projection ${this.name}: maintaining version ${active} (checkpoint ${this.current.name})`
        : `projection ${this.name}: the active version switched from ${previous} to ${active}; continuing on version ${active} from its checkpoint (${this.current.name})`,
    );
    this.options.onVersion?.(active);
  }

  /**
   * The batch's transaction(s): folded in one go when the projection can, else (or when that
   * fails) event by event. `save`: a batch with nothing to write saves the row now instead of
   * passing.
   */
  private async commit(batch: Batch, projection: Projection, events: readonly RecordedEvent[], save = false): Promise<void> {
    const last = events[events.length - 1]!;
    // No reducer for any of these events: they only move the checkpoint (applyBatch gives the
    // reducers' rows, so none either), which needs no transaction and may be saved later.
    let done = !events.some((event) => Object.hasOwn(projection.reducers, event.type));
    if (done) await (save ? batch.commit(last.position) : batch.pass(last.position));
    else if (projection.applyBatch) {
      try {
        await batch.commit(last.position, (trx) => applyEvents(trx, projection, events, 'batch'));
        done = true;
      } catch (err) {
        if (err instanceof CheckpointMovedError) throw err;
        this.logger.debug({ err }, `projection ${this.label}: the batch fold failed; applying the ${events.length} events one by one`);
      }
    }
    if (!done) await batch.commit(last.position, (trx) => applyEvents(trx, projection, events, 'one-by-one'));
    this.logger.debug({ events: events.length, to: last.position }, `projection ${this.label}: batch committed`);
    this.lastSignOfLife = Date.now();
    this.options.onCommit?.(events.length, last.position);
  }

  /** Stores the state for other processes; a failure to do so is logged, never thrown. */
  private async persist(state: PersistedState, failure?: ProjectionFailure): Promise<void> {
    const checkpointName = this.current?.name;
    if (!checkpointName) return;
    try {
      await persistState(this.options.db, checkpointName, state, failure);
      this.lastSignOfLife = Date.now();
    } catch (err) {
      this.logger.warn({ err }, `projection ${checkpointName}: could not store its state (${state}): ${(err as Error)?.message ?? err}`);
    }
  }

  private async heartbeat(): Promise<void> {
    const checkpointName = this.current?.name;
    if (!checkpointName || Date.now() - this.lastSignOfLife < this.heartbeatMs) return;
    this.lastSignOfLife = Date.now();
    await persistHeartbeat(this.options.db, checkpointName).catch((err: unknown) =>
      this.logger.debug({ err }, `projection ${checkpointName}: heartbeat not stored`),
    );
  }

  private observe(position: Position): void {
    this.checkpoint = position;
    for (const waiter of this.waiters) {
      if (this.satisfies(waiter.position, waiter.version)) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  private satisfies(position: Position, version: number | undefined): boolean {
    if (version !== undefined && (this.version === undefined || this.version < version)) return false;
    if (position === START) return true;
    return this.checkpoint !== undefined && comparePositions(this.checkpoint, position) >= 0;
  }

  private async fail(err: ReducerError): Promise<ProjectionFailedError> {
    const { id, stream, type, sequence, position } = err.event;
    const failure: ProjectionFailure = {
      projection: this.label,
      event: { id, stream, type, sequence, position },
      reason: err.message,
      cause: err.cause,
      at: new Date(),
    };
    this.failure = failure;
    this.logger.error(
      { err: err.cause, event: failure.event, checkpoint: this.checkpoint, ...(this.version !== undefined ? { version: this.version } : {}) },
      `projection ${this.label} stopped: the reducer for ${type} failed on event ${id} (stream ${stream}, sequence ${sequence}, ` +
        `position ${position}): ${failure.reason}. The event is not skipped: the checkpoint stays at ${this.checkpoint || '(start)'} until the cause is fixed and the projection restarted`,
    );
    const error = new ProjectionFailedError(failure);
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
    await this.persist('failed', failure);
    return error;
  }
}

/**
 * The only place that runs a projection's reducers: `batch` folds the whole batch with
 * applyBatch (when the projection has one), `one-by-one` applies each event's reducer and
 * names the event that failed (ReducerError).
 */
async function applyEvents(trx: Transaction<any>, projection: Projection, events: readonly RecordedEvent[], mode: 'batch' | 'one-by-one'): Promise<void> {
  const { reducers, applyBatch } = projection;
  if (mode === 'batch' && applyBatch) {
    await applyBatch(trx, events);
    return;
  }
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (!Object.hasOwn(reducers, event.type)) continue;
    try {
      await reducers[event.type]!(trx, event);
    } catch (cause) {
      throw new ReducerError(i, event, cause);
    }
  }
}
