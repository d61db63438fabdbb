import { sql, type Kysely } from 'kysely';
import { START, comparePositions, type EventStore, type Position, type RecordedEvent } from '../../libs/eventstore/src/index.js';
import type { Logger } from '../../libs/logging/src/pino-logger.js';
import {
  ProjectionFailedError,
  type Projection,
  type ProjectionFailure,
  type ProjectionState,
  type ProjectionStatus,
} from './projection.js';
import { CHECKPOINTS_TABLE } from './schema.js';

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
}

type BatchOutcome = 'empty' | 'applied' | 'moved';

/** Pauses while events are held back behind an open transaction: 10 ms, doubling up to 1 s. */
const HELD_BACK_FIRST_DELAY_MS = 10;
const HELD_BACK_MAX_DELAY_MS = 1_000;

/** Another runner (a second process, an operator's rewind) changed the checkpoint under us. */
class CheckpointMovedError extends Error {}

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
 * event): the events before it in the batch are committed, so the checkpoint is just before
 * the bad event, which is never skipped. `start()` retries from there.
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

  constructor(
    readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions,
  ) {
    this.logger = options.logger.child({ projection: projection.name });
    this.batchSize = options.batchSize ?? 200;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.heldBackMaxDelayMs = Math.min(HELD_BACK_MAX_DELAY_MS, this.idleTimeoutMs);
  }

  get name(): string {
    return this.projection.name;
  }

  status(): ProjectionStatus {
    return {
      name: this.name,
      state: this.state,
      checkpoint: this.checkpoint,
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }

  /** Follows the store in the background until stop(). After a failure, retries the event that failed. */
  start(): void {
    if (this.loop) return;
    if (this.failure) {
      this.logger.info({ event: this.failure.event }, `projection ${this.name}: restarting after a failure, retrying event ${this.failure.event.id}`);
      this.failure = undefined;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.state = 'running';
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
   * Processes batches until the checkpoint has passed the store's head as it was when catchUp
   * began (tests, CLI): events committed but still held back behind an older open transaction
   * are waited for, not missed. Resolves with the checkpoint; rejects with
   * ProjectionFailedError when a reducer fails (or already had).
   */
  async catchUp(): Promise<Position> {
    const head = await this.options.store.headPosition();
    let pause = HELD_BACK_FIRST_DELAY_MS;
    for (;;) {
      const outcome = await this.serialized(() => this.batch());
      if (outcome !== 'empty') continue;
      if (this.reached(head)) return this.checkpoint ?? START;
      await sleep(pause);
      pause = Math.min(pause * 2, this.heldBackMaxDelayMs);
    }
  }

  /**
   * Resolves true once the checkpoint is at or after `position`, false after `timeoutMs`;
   * rejects with ProjectionFailedError if the projection fails (or has failed) before that.
   */
  waitUntil(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.reached(position)) return Promise.resolve(true);
    if (this.failure) return Promise.reject(new ProjectionFailedError(this.failure));
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        position,
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
        if (outcome !== 'empty' || signal.aborted) continue;
        if (await this.idle(signal, heldBackDelay)) {
          heldBackDelay = Math.min(heldBackDelay * 2, this.heldBackMaxDelayMs);
        } else {
          heldBackDelay = HELD_BACK_FIRST_DELAY_MS;
        }
      } catch (err) {
        if (err instanceof ProjectionFailedError) return;
        if (signal.aborted) break;
        this.logger.warn(
          { err, retryInMs: delay, checkpoint: this.checkpoint },
          `projection ${this.name}: reading events or writing the read model failed, retrying in ${delay} ms: ${(err as Error)?.message ?? err}`,
        );
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
    this.logger.info({ checkpoint: this.checkpoint }, `projection ${this.name}: stopped at checkpoint ${this.checkpoint ?? START}`);
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

  private async batch(): Promise<BatchOutcome> {
    if (this.failure) throw new ProjectionFailedError(this.failure);
    const from = await this.loadCheckpoint();
    const events = await this.options.store.readAll({ after: from, limit: this.batchSize });
    if (events.length === 0) return 'empty';
    try {
      await this.commit(from, events);
      return 'applied';
    } catch (err) {
      if (err instanceof CheckpointMovedError) {
        this.logger.debug({ from }, `projection ${this.name}: the checkpoint moved under this batch; reading again`);
        return 'moved';
      }
      if (!(err instanceof ReducerError)) throw err;
      if (err.index > 0) {
        // Keep what the events before the bad one did: the checkpoint ends just before it.
        await this.commit(from, events.slice(0, err.index)).catch((prefixErr: unknown) =>
          this.logger.warn({ err: prefixErr }, `projection ${this.name}: could not commit the events before the failing one`),
        );
      }
      throw this.fail(err);
    }
  }

  private async commit(from: Position, events: readonly RecordedEvent[]): Promise<void> {
    const last = events[events.length - 1]!;
    const { reducers, name } = this.projection;
    await this.options.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom(CHECKPOINTS_TABLE)
        .select('position')
        .where('name', '=', name)
        .forUpdate()
        .executeTakeFirst();
      if ((row?.position ?? START) !== from) throw new CheckpointMovedError();
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        if (!Object.hasOwn(reducers, event.type)) continue;
        try {
          await reducers[event.type]!(trx, event);
        } catch (cause) {
          throw new ReducerError(i, event, cause);
        }
      }
      await trx
        .insertInto(CHECKPOINTS_TABLE)
        .values({ name, position: last.position, updated_at: sql`now()` })
        .onConflict((oc) => oc.column('name').doUpdateSet({ position: last.position, updated_at: sql`now()` }))
        .execute();
    });
    this.logger.debug({ events: events.length, from, to: last.position }, `projection ${this.name}: batch committed`);
    this.observe(last.position);
  }

  private async loadCheckpoint(): Promise<Position> {
    const { db } = this.options;
    const select = () => db.selectFrom(CHECKPOINTS_TABLE).select('position').where('name', '=', this.name).executeTakeFirst();
    let row = await select();
    if (!row) {
      await db
        .insertInto(CHECKPOINTS_TABLE)
        .values({ name: this.name, position: START })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      row = await select();
    }
    const position: Position = row?.position ?? START;
    this.observe(position);
    return position;
  }

  private observe(position: Position): void {
    this.checkpoint = position;
    for (const waiter of this.waiters) {
      if (this.reached(waiter.position)) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  private reached(position: Position): boolean {
    if (position === START) return true;
    return this.checkpoint !== undefined && comparePositions(this.checkpoint, position) >= 0;
  }

  private fail(err: ReducerError): ProjectionFailedError {
    const { id, stream, type, sequence, position } = err.event;
    const failure: ProjectionFailure = {
      projection: this.name,
      event: { id, stream, type, sequence, position },
      reason: err.message,
      cause: err.cause,
      at: new Date(),
    };
    this.failure = failure;
    this.state = 'failed';
    this.logger.error(
      { err: err.cause, event: failure.event, checkpoint: this.checkpoint },
      `projection ${this.name} stopped: the reducer for ${type} failed on event ${id} (stream ${stream}, sequence ${sequence}, ` +
        `position ${position}): ${failure.reason}. The event is not skipped: the checkpoint stays at ${this.checkpoint || '(start)'} until the cause is fixed and the projection restarted`,
    );
    const error = new ProjectionFailedError(failure);
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
    return error;
  }
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
