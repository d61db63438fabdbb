import { sql, type Kysely, type Transaction } from 'kysely';
import { START, comparePositions, type EventStore, type Position, type RecordedEvent } from '#eventstore';
import type { Logger } from '#logging';
import {
  isVersionedProjection,
  ProjectionFailedError,
  type Projection,
  type ProjectionFailure,
  type ProjectionState,
  type ProjectionStatus,
  type VersionedProjection,
} from './projection.js';
import { CHECKPOINTS_TABLE } from './schema.js';
import { persistHeartbeat, persistState, type PersistedState } from './state.js';
import { ensureVersionsRow, lockActiveVersionForShare, readActiveVersion } from './versions.js';

export interface ProjectionRunnerOptions {
  /** Where the events come from: any EventStore adapter. */
  store: EventStore;
  /** Where the read model and the checkpoint live (SqlDatabase.db). */
  db: Kysely<any>;
  logger: Logger;
  /** Events per transaction. */
  batchSize?: number;
  /** How long one wait for new events lasts before the runner looks again (a missed wake-up costs at most this). */
  idleTimeoutMs?: number;
  /** First pause after the store or the database failed (not a reducer); doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How often a running runner with nothing to do writes a heartbeat to its checkpoint row (default 15 s). */
  heartbeatMs?: number;
  /** Called after every committed batch (metrics, a replay's progress). */
  onCommit?: (events: number, checkpoint: Position) => void;
  /** Versioned projections: called when the runner starts following another version. */
  onVersion?: (version: number) => void;
}

export interface CatchUpOptions {
  /** Stop at this position instead of the store's head: no event after it is reduced (verify's scratch build). */
  until?: Position;
  /** Ends the catch-up between two batches (CatchUpAbortedError); the batch in hand commits. */
  signal?: AbortSignal;
  /**
   * Reads the next page of events while the batch in hand is applied and committed (replays:
   * the database and this process work at the same time). The page is used only if the next
   * batch starts where it was read from (the checkpoint is still compared and set).
   */
  prefetch?: boolean;
}

/** `beyond`: catchUp's `until` is reached, the next event is after it. */
type BatchOutcome = 'empty' | 'applied' | 'moved' | 'beyond';

/** Pauses while events are held back behind an open transaction: 10 ms, doubling up to 1 s. */
const HELD_BACK_FIRST_DELAY_MS = 10;
const HELD_BACK_MAX_DELAY_MS = 1_000;

/** Another runner (a second process, an operator's rewind) changed the checkpoint under us. */
class CheckpointMovedError extends Error {}

/** A replay switched the active version: the batch in hand belongs to a version nobody reads any more. */
class VersionMovedError extends Error {}

/** catchUp() ended by its signal. */
export class CatchUpAbortedError extends Error {
  override readonly name = 'CatchUpAbortedError';
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
 * Keeps one projection up to date: reads the events after its checkpoint in batches (read
 * first, then one transaction that applies the reducers and moves the checkpoint, so a crash
 * never loses or doubles an event and PGlite's single connection is never held while the
 * store is awaited), then follows the store with waitForEvents. When the store's head is past
 * what readAll shows (events held back behind an open transaction, which may wake nobody when
 * it ends), it looks again after a short pause (10 ms, doubling up to 1 s) instead of sleeping
 * a whole idle time-out.
 *
 * The checkpoint is read from the database before every batch and compared-and-set in the
 * batch's transaction (row lock): two runners of the same projection (two processes on one
 * server PostgreSQL, or a replay) never move it backwards or apply a batch twice.
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
 * it reads the active version before every batch and checks it again, with a FOR SHARE lock,
 * inside the batch's transaction. A replay's switch (an UPDATE of that row) therefore waits for
 * the batch in hand, and the next batch continues on the new version's tables from the new
 * version's checkpoint. `wake()` (on the switch's NOTIFY) ends an idle wait at once.
 */
export class ProjectionRunner {
  private state: ProjectionState = 'idle';
  private checkpoint: Position | undefined;
  private failure: ProjectionFailure | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<Waiter>();
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly idleTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly heldBackMaxDelayMs: number;
  private readonly heartbeatMs: number;
  private readonly versioned: VersionedProjection | undefined;
  private current: Projection | undefined;
  private version: number | undefined;
  private versionsRowEnsured = false;
  /** The running state is stored once per followed checkpoint. */
  private persistedRunning = false;
  private lastSignOfLife = 0;
  private wakeIdle: (() => void) | undefined;
  private wakePending = false;
  private prefetched: { after: Position; page: Promise<RecordedEvent[]> } | undefined;

  constructor(
    projection: Projection | VersionedProjection,
    private readonly options: ProjectionRunnerOptions,
  ) {
    if (isVersionedProjection(projection)) this.versioned = projection;
    else this.current = projection;
    this.logger = options.logger.child({ projection: projection.name });
    this.batchSize = options.batchSize ?? 200;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.heldBackMaxDelayMs = Math.min(HELD_BACK_MAX_DELAY_MS, this.idleTimeoutMs);
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
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
    return {
      name: this.name,
      state: this.state,
      checkpoint: this.checkpoint,
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }

  /** Follows the store in the background until stop(). After a failure, retries the event that failed. */
  start(): void {
    if (this.loop) return;
    if (this.failure) {
      this.logger.info({ event: this.failure.event }, `projection ${this.label}: restarting after a failure, retrying event ${this.failure.event.id}`);
      this.failure = undefined;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.state = 'running';
    this.persistedRunning = false;
    const loop: Promise<void> = this.follow(abort.signal).then(() => {
      if (this.loop === loop) {
        this.loop = undefined;
        this.abort = undefined;
      }
      this.state = this.failure ? 'failed' : 'stopped';
    });
    this.loop = loop;
  }

  /** Ends following; resolves once the batch in hand (if any) is committed or rolled back. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    if (this.state === 'running') this.state = 'stopping';
    this.abort?.abort();
    await loop;
  }

  /**
   * Ends an idle wait at once (or the next one, if the runner is busy): the runner then runs a
   * batch, which reads the active version. Called on a version switch.
   */
  wake(): void {
    if (this.wakeIdle) this.wakeIdle();
    else this.wakePending = true;
  }

  /**
   * Processes batches until the checkpoint has passed the store's head as it was when catchUp
   * began (tests, CLI): events committed but still held back behind an older open transaction
   * are waited for, not missed. With `until`, stops exactly there instead. Resolves with the
   * checkpoint; rejects with ProjectionFailedError when a reducer fails (or already had), with
   * CatchUpAbortedError when `signal` aborts (between two batches).
   */
  async catchUp(options: CatchUpOptions = {}): Promise<Position> {
    const { until, signal, prefetch } = options;
    const target = until ?? (await this.options.store.headPosition());
    let pause = HELD_BACK_FIRST_DELAY_MS;
    for (;;) {
      if (signal?.aborted) throw new CatchUpAbortedError(`projection ${this.label}: catch-up interrupted at ${this.checkpoint || '(start)'}`);
      if (until !== undefined && this.checkpoint !== undefined && this.reached(until)) return this.checkpoint;
      const outcome = await this.serialized(() => this.batch(until, prefetch));
      if (outcome === 'beyond') return this.checkpoint ?? START;
      if (outcome !== 'empty') {
        pause = HELD_BACK_FIRST_DELAY_MS;
        await yieldToEventLoop();
        continue;
      }
      if (this.reached(target)) return this.checkpoint ?? START;
      await sleep(pause, signal);
      pause = Math.min(pause * 2, this.heldBackMaxDelayMs);
    }
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

  private async follow(signal: AbortSignal): Promise<void> {
    let delay = this.retryDelayMs;
    let heldBackDelay = HELD_BACK_FIRST_DELAY_MS;
    this.logger.info(`projection ${this.name}: following the event store`);
    let listening = false;
    while (!signal.aborted) {
      try {
        if (!listening) {
          // Lets the store set up its wake-ups (PostgresEventStore: LISTEN) before the first
          // real wait, so that wait is registered as soon as it is called (see below).
          await this.options.store.waitForEvents(this.checkpoint ?? START, { timeoutMs: 0, signal });
          listening = true;
        }
        const outcome = await this.serialized(() => this.batch());
        delay = this.retryDelayMs;
        if (outcome !== 'empty' || signal.aborted) {
          await yieldToEventLoop();
          continue;
        }
        if (await this.idle(signal, heldBackDelay)) {
          heldBackDelay = Math.min(heldBackDelay * 2, this.heldBackMaxDelayMs);
        } else {
          heldBackDelay = HELD_BACK_FIRST_DELAY_MS;
        }
        await this.heartbeat();
      } catch (err) {
        if (err instanceof ProjectionFailedError) return;
        if (signal.aborted) break;
        this.logger.warn(
          { err, retryInMs: delay, checkpoint: this.checkpoint },
          `projection ${this.label}: reading events or writing the read model failed, retrying in ${delay} ms: ${(err as Error)?.message ?? err}`,
        );
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
    this.logger.info({ checkpoint: this.checkpoint }, `projection ${this.label}: stopped at checkpoint ${this.checkpoint ?? START}`);
    if (!this.failure && this.current) await this.persist('stopped');
  }

  /**
   * Waits for new events. The wait starts before the look at the store's head: an append that
   * commits after that look wakes the wait, one that committed before it shows in the head.
   * When the head is past the checkpoint while readAll showed nothing, events are held back
   * behind an older open transaction (maybe not an append: its end wakes nobody), so instead
   * of waiting for a wake-up it pauses `heldBackDelay` and returns true.
   */
  private async idle(signal: AbortSignal, heldBackDelay: number): Promise<boolean> {
    const wait = new AbortController();
    const stop = () => wait.abort();
    signal.addEventListener('abort', stop);
    this.wakeIdle = stop;
    if (this.wakePending) wait.abort();
    this.wakePending = false;
    try {
      const waiting = this.options.store.waitForEvents(this.checkpoint ?? START, { timeoutMs: this.idleTimeoutMs, signal: wait.signal });
      // Should the look at the head throw first, the wait's own failure must not go unhandled.
      waiting.catch(() => undefined);
      if (await this.heldBack()) {
        wait.abort();
        await waiting;
        await sleep(heldBackDelay, signal);
        return true;
      }
      await waiting;
      return false;
    } finally {
      this.wakeIdle = undefined;
      wait.abort();
      signal.removeEventListener('abort', stop);
    }
  }

  /** The store's head is past what readAll showed: events are held back behind an open transaction. */
  private async heldBack(): Promise<boolean> {
    const head = await this.options.store.headPosition();
    return comparePositions(head, this.checkpoint ?? START) > 0;
  }

  /** One batch at a time per runner, whether the live loop or catchUp() asks. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async batch(until?: Position, prefetch = false): Promise<BatchOutcome> {
    if (this.failure) throw new ProjectionFailedError(this.failure);
    if (this.versioned) await this.followActiveVersion();
    const from = await this.loadCheckpoint();
    if (this.loop && !this.persistedRunning) {
      await this.persist('running');
      this.persistedRunning = true;
    }
    const ahead = this.prefetched;
    this.prefetched = undefined;
    let events = ahead && ahead.after === from ? await ahead.page : await this.options.store.readAll({ after: from, limit: this.batchSize });
    if (events.length === 0) return 'empty';
    if (prefetch && events.length === this.batchSize && (until === undefined || comparePositions(events[events.length - 1]!.position, until) < 0)) {
      const after = events[events.length - 1]!.position;
      const page = this.options.store.readAll({ after, limit: this.batchSize });
      page.catch(() => undefined); // awaited (and its error seen) by the next batch, or dropped
      this.prefetched = { after, page };
    }
    if (until !== undefined) {
      events = events.filter((e) => comparePositions(e.position, until) <= 0);
      if (events.length === 0) return 'beyond';
    }
    try {
      await this.commit(from, events);
      return 'applied';
    } catch (err) {
      if (err instanceof CheckpointMovedError) {
        this.logger.debug({ from }, `projection ${this.label}: the checkpoint moved under this batch; reading again`);
        return 'moved';
      }
      if (err instanceof VersionMovedError) {
        this.logger.debug({ from }, `projection ${this.label}: the active version changed under this batch; switching`);
        return 'moved';
      }
      if (!(err instanceof ReducerError)) throw err;
      if (err.index > 0) {
        // Keep what the events before the bad one did: the checkpoint ends just before it.
        await this.commit(from, events.slice(0, err.index)).catch((prefixErr: unknown) =>
          this.logger.warn({ err: prefixErr }, `projection ${this.label}: could not commit the events before the failing one`),
        );
      }
      throw await this.fail(err);
    }
  }

  /** Versioned: reads the active version; on a change, continues on that version's tables and checkpoint. */
  private async followActiveVersion(): Promise<void> {
    const { db } = this.options;
    if (!this.versionsRowEnsured) {
      await ensureVersionsRow(db, this.versioned!.name);
      this.versionsRowEnsured = true;
    }
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

  private async commit(from: Position, events: readonly RecordedEvent[]): Promise<void> {
    const projection = this.current!;
    const { reducers, applyBatch } = projection;
    let done = false;
    if (applyBatch) {
      try {
        await this.transaction(projection, from, events, (trx) => applyBatch(trx, events));
        done = true;
      } catch (err) {
        if (err instanceof CheckpointMovedError || err instanceof VersionMovedError) throw err;
        this.logger.debug({ err }, `projection ${this.label}: the batch fold failed; applying the ${events.length} events one by one`);
      }
    }
    if (!done) {
      await this.transaction(projection, from, events, async (trx) => {
        for (let i = 0; i < events.length; i++) {
          const event = events[i]!;
          if (!Object.hasOwn(reducers, event.type)) continue;
          try {
            await reducers[event.type]!(trx, event);
          } catch (cause) {
            throw new ReducerError(i, event, cause);
          }
        }
      });
    }
    const last = events[events.length - 1]!;
    this.logger.debug({ events: events.length, from, to: last.position }, `projection ${this.label}: batch committed`);
    this.lastSignOfLife = Date.now();
    this.observe(last.position);
    this.options.onCommit?.(events.length, last.position);
  }

  /** One batch's transaction: the version and checkpoint checks, `apply`, the new checkpoint. */
  private async transaction(
    projection: Projection,
    from: Position,
    events: readonly RecordedEvent[],
    apply: (trx: Transaction<any>) => Promise<void>,
  ): Promise<void> {
    const last = events[events.length - 1]!;
    const { name } = projection;
    await this.options.db.transaction().execute(async (trx) => {
      if (this.versioned && (await lockActiveVersionForShare(trx, this.versioned.name)) !== this.version) throw new VersionMovedError();
      const row = await trx
        .selectFrom(CHECKPOINTS_TABLE)
        .select('position')
        .where('name', '=', name)
        .forUpdate()
        .executeTakeFirst();
      if ((row?.position ?? START) !== from) throw new CheckpointMovedError();
      await apply(trx);
      await trx
        .insertInto(CHECKPOINTS_TABLE)
        .values({ name, position: last.position, updated_at: sql`now()`, heartbeat_at: sql`now()` })
        .onConflict((oc) => oc.column('name').doUpdateSet({ position: last.position, updated_at: sql`now()`, heartbeat_at: sql`now()` }))
        .execute();
    });
  }

  private async loadCheckpoint(): Promise<Position> {
    const { db } = this.options;
    const name = this.current!.name;
    const select = () => db.selectFrom(CHECKPOINTS_TABLE).select('position').where('name', '=', name).executeTakeFirst();
    let row = await select();
    if (!row) {
      await db
        .insertInto(CHECKPOINTS_TABLE)
        .values({ name, position: START })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      row = await select();
    }
    const position: Position = row?.position ?? START;
    this.observe(position);
    return position;
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
    return this.reached(position);
  }

  private reached(position: Position): boolean {
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
    this.state = 'failed';
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
 * Lets timers and I/O run between two batches. PGlite answers in the same process, so a run of
 * batches would otherwise be one long chain of promises: an embedded server replaying or
 * catching up would not answer a request until it is done.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
