import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Kysely, Transaction } from 'kysely';
import { START, comparePositions, type EventStore, type Position, type RecordedEvent } from '#eventstore';
import type { Logger } from '#logging';
import { CheckpointMovedError, LeaseLostError, loadCheckpoint, lockCheckpoint, moveCheckpoint, type CheckpointTable } from './checkpoint-row.js';
import { CheckpointLease } from './lease.js';

export interface LeaseOptions {
  /** How long the lease lasts without renewal; renewed every leaseMs / 3 and with every checkpoint write. */
  leaseMs: number;
  /** How often a consumer without the lease (another process has it) tries to take it. */
  standbyPollMs: number;
  /** This process's name in the `owner` column (a random UUID by default). */
  owner?: string;
}

/** One batch in the handler's hands. */
export interface Batch {
  readonly checkpointName: string;
  /** The checkpoint as it is now: where the batch was read from, then the last commit's `to`. */
  readonly from: Position;
  readonly events: readonly RecordedEvent[];
  /** Aborted by stop() (or by catchUp's signal). */
  readonly signal: AbortSignal;
  /** False once stopping, or when the lease is no longer surely ours: start no side effect then. */
  active(): boolean;
  /**
   * One transaction: the consumer's guard, the checkpoint row locked and compared with `from`
   * (CheckpointMovedError when it moved, LeaseLostError when the lease is gone), `apply`, the
   * checkpoint set to `to`. Without `apply`, only the compare-and-set: one statement, no guard
   * (nothing is written that the guard could keep off). A batch may commit several times (a
   * prefix, then the rest).
   */
  commit(to: Position, apply?: (trx: Transaction<any>) => Promise<void>): Promise<void>;
  /**
   * Moves the checkpoint past events that need nothing written and nothing done (none is the
   * handler's business). The consumer's checkpoint (waitForCheckpoint) is there at once; in the
   * live loop the row follows within passSaveDelayMs, with the next commit, or on stop (in
   * catchUp at once). A restart before the row is saved reads these events again, which is
   * harmless only because they need nothing: never pass an event that was acted on.
   */
  pass(to: Position): Promise<void>;
}

export type BatchHandler = (batch: Batch) => Promise<void>;

export interface CheckpointedConsumerOptions {
  store: EventStore;
  /** Where the checkpoint (and what the handler writes in its transaction) lives. */
  db: Kysely<any>;
  logger: Logger;
  /** How the log lines name the consumer ('notifier', 'projection users'). */
  label: string | (() => string);
  table: CheckpointTable;
  /** The checkpoint's row; a function when it changes (a versioned projection's active version). */
  checkpointName: string | (() => string);
  handler: BatchHandler;
  /** Events per batch. */
  batchSize?: number;
  /** How long one wait for new events lasts before the consumer looks again (a missed wake-up costs at most this). */
  idleTimeoutMs?: number;
  /**
   * After a batch that read the store dry, how long the live loop pauses before it reads again
   * (0: it waits for a wake-up at once). Under a stream of appends each wake-up would otherwise
   * cost a read, a look for more, a look at the head and a commit for the one or two events that
   * came since; after the pause the events that came meanwhile are one batch, and while they keep
   * coming the loop never waits for a wake-up at all. Adds up to this much to an event's lag.
   */
  gatherMs?: number;
  /**
   * The gathering pause after a batch whose events the handler only passed (Batch.pass: none
   * was its business), instead of gatherMs (default 50 ms; never shorter than gatherMs; no
   * pause at all when gatherMs is 0). Under a stream of appends a consumer with nothing to do in
   * them (the notifier and the sessions projection while users add OTP Email) read the store
   * every few milliseconds for nothing: at this machine's half-peak rate the three consumers'
   * reads were 1.4 statements per request. Someone waiting for this consumer's checkpoint
   * (waitForCheckpoint, or hurry() from a reader of its own) ends the pause at once, and so
   * does stop(); an event the consumer does act on waits at most this much longer.
   */
  passGatherMs?: number;
  /**
   * How long, in the live loop, a checkpoint moved by Batch.pass may stay unsaved (default
   * 50 ms; 0: saved at once). Under a stream of events a handler has no use for (the notifier
   * and most projections see mostly such events), every batch cost a checkpoint write of its
   * own: one statement and one WAL flush per batch for nothing but the row. The row is saved
   * this long after the first unsaved pass (a timer, also when no more events come), and on
   * stop.
   */
  passSaveDelayMs?: number;
  /** First pause after the store or the database failed; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Only the process holding the lease on the checkpoint row acts. */
  lease?: LeaseOptions;
  /** Runs first in every batch transaction that applies writes, before the checkpoint row is locked; throw CheckpointMovedError to read again. */
  guard?: (trx: Transaction<any>) => Promise<void>;
  /** Before every batch, outside any transaction; `live` when the background loop asks (not catchUp). */
  beforeBatch?: (live: boolean) => Promise<void>;
  /** After every wait for new events (a heartbeat). */
  afterIdle?: () => Promise<void>;
  /** Every checkpoint read or committed. */
  onCheckpoint?: (position: Position) => void;
  /** The background loop ended (stop(), or a fatal error). */
  onStopped?: (failed: boolean) => Promise<void>;
  /** Errors that end the background loop instead of a retry after a pause (a handler's stored failure). */
  isFatal?: (err: unknown) => boolean;
}

export interface CatchUpOptions {
  /** Stop at this position instead of the store's head: no event after it is handled. */
  until?: Position;
  /** Ends the catch-up between two batches (CatchUpAbortedError); the batch in hand commits. */
  signal?: AbortSignal;
  /**
   * Reads the next page of events while the batch in hand is handled and committed (replays:
   * the database and this process work at the same time). The page is used only if the next
   * batch starts where it was read from (the checkpoint is still compared and set).
   */
  prefetch?: boolean;
}

/** catchUp() ended by its signal. */
export class CatchUpAbortedError extends Error {
  override readonly name = 'CatchUpAbortedError';
}

/**
 * idle: built, never started · standby: another process holds the lease · running ·
 * stopping: stop() waits for the batch in hand · stopped · failed: a fatal error ended the loop.
 */
export type ConsumerState = 'idle' | 'standby' | 'running' | 'stopping' | 'stopped' | 'failed';

/** `beyond`: catchUp's `until` is reached, the next event is after it; `moved`: nothing committed, read again. */
export type BatchOutcome = 'empty' | 'applied' | 'moved' | 'beyond';

interface Waiter {
  position: Position;
  resolve: (reached: boolean) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Follows the event store from a checkpoint kept in the database. Each batch is read first
 * (after the checkpoint as stored now; in the live loop, after the one its own last commit
 * stored, so a following batch costs no read of the row: a rewind or another process is then seen
 * by the commit's compare-and-set, and the batch is read again), then handed to
 * the handler, which commits it: one transaction that applies what the handler writes and
 * compares-and-sets the checkpoint (row lock), so two processes or a rewind never apply a batch
 * twice and a crash never loses or doubles one. PGlite's single connection is never held while
 * the store is awaited.
 *
 * After a batch that read less than batchSize it pauses gatherMs and reads again (the events
 * that came meanwhile are one batch). With nothing to read it waits on store.waitForEvents
 * (which also looks again, with a short back-off, while events are held back behind an open
 * transaction), at most idleTimeoutMs. A commit with nothing to write but the checkpoint is a
 * single compare-and-set statement, outside a transaction. A pass (events the handler has no
 * use for) moves the checkpoint in memory; in the live loop the row follows within
 * passSaveDelayMs, and on stop.
 * A failing store or database is retried after a pause doubling up to maxRetryDelayMs; errors
 * the options call fatal end the loop. stop() aborts waits and pauses and resolves once the
 * batch in hand has committed or rolled back.
 *
 * With a lease, only the process holding it reads and commits (the others stand by and poll);
 * every checkpoint write extends it and checks it is still ours.
 */
export class CheckpointedConsumer {
  private stateValue: ConsumerState = 'idle';
  private checkpointValue: Position | undefined;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<Waiter>();
  private readonly batchSize: number;
  private readonly idleTimeoutMs: number;
  private readonly gatherMs: number;
  private readonly passGatherMs: number;
  /** The last batch moved the checkpoint only by passes: the next gathering pause is passGatherMs. */
  private lastPassedOnly = false;
  /** Ends the gathering pause in progress (hurry()). */
  private endPause: (() => void) | undefined;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private wakeIdle: (() => void) | undefined;
  private wakePending = false;
  private prefetched: { name: string; after: Position; page: Promise<RecordedEvent[]> } | undefined;
  /** The last batch's read returned fewer events than batchSize: the store had nothing more then. */
  private lastReadShort = false;
  /**
   * The checkpoint as this consumer's last commit or pass left it (`saved`: what the row holds,
   * behind `position` while passes are unsaved): the next live batch reads from it without
   * loading the row again. Only a successful commit or pass sets it; a batch uses it once. A
   * rewind or another process moving the row meanwhile is caught by the next compare-and-set
   * (CheckpointMovedError), after which the row is loaded again.
   */
  private committedCheckpoint: { name: string; position: Position; saved: Position } | undefined;
  /** Where passes moved the checkpoint while the row still says `saved` (since: performance.now() of the first such pass). */
  private unsaved: { name: string; saved: Position; position: Position; since: number } | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly passSaveDelayMs: number;
  private readonly lease: LeaseHolder | undefined;

  constructor(private readonly options: CheckpointedConsumerOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
    this.gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
    this.passGatherMs = Math.max(this.gatherMs, options.passGatherMs ?? DEFAULT_PASS_GATHER_MS);
    this.passSaveDelayMs = options.passSaveDelayMs ?? DEFAULT_PASS_SAVE_DELAY_MS;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    if (options.lease) {
      if (typeof options.checkpointName !== 'string') throw new Error('a leased consumer needs a fixed checkpoint name');
      this.lease = new LeaseHolder(
        new CheckpointLease(options.db, options.table.table, options.checkpointName, options.lease.owner ?? randomUUID(), options.lease.leaseMs),
        options.logger,
        () => this.label,
      );
    }
  }

  get state(): ConsumerState {
    return this.stateValue;
  }

  /** The last checkpoint this consumer read or committed; undefined before the first read. */
  get checkpoint(): Position | undefined {
    return this.checkpointValue;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  private get label(): string {
    const { label } = this.options;
    return typeof label === 'string' ? label : label();
  }

  private get checkpointName(): string {
    const { checkpointName } = this.options;
    return typeof checkpointName === 'string' ? checkpointName : checkpointName();
  }

  /** Follows the store in the background until stop(). */
  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.stateValue = 'running';
    const loop: Promise<void> = this.follow(abort.signal).then((failed) => {
      if (this.loop === loop) {
        this.loop = undefined;
        this.abort = undefined;
      }
      if (failed) this.stateValue = 'failed';
      else if (!this.lease) this.stateValue = 'stopped';
    });
    this.loop = loop;
  }

  /** Ends following; resolves once the batch in hand (if any) is committed or rolled back, and the lease is released. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    if (this.stateValue === 'running' || this.stateValue === 'standby') this.stateValue = 'stopping';
    this.abort?.abort();
    await loop;
    if (this.lease) {
      await this.lease.release();
      if (this.stateValue === 'stopping') this.stateValue = 'stopped';
    }
  }

  /** Ends the gathering pause in progress, if any: someone waits for what comes after it. */
  hurry(): void {
    this.endPause?.();
  }

  /** Ends an idle wait at once (or the next one, if the consumer is busy). */
  wake(): void {
    if (this.wakeIdle) this.wakeIdle();
    else this.wakePending = true;
  }

  /**
   * Resolves true once the checkpoint is at or after `position`, false after `timeoutMs`;
   * rejects if the background loop ends with a fatal error first.
   */
  waitForCheckpoint(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.reached(position)) return Promise.resolve(true);
    this.hurry();
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

  /** Whether the checkpoint is at or after `position`. */
  reached(position: Position): boolean {
    if (position === START) return true;
    return this.checkpointValue !== undefined && comparePositions(this.checkpointValue, position) >= 0;
  }

  /**
   * Processes batches until the checkpoint has passed the store's head as it was when catchUp
   * began (tests, CLI, replays): events committed but still held back behind an older open
   * transaction are waited for (store.waitForEvents), not missed. With `until`, stops exactly
   * there instead. Resolves with the checkpoint. Not leased: the caller decides who runs it.
   */
  async catchUp(options: CatchUpOptions = {}): Promise<Position> {
    const { until, signal, prefetch } = options;
    const target = until ?? (await this.options.store.headPosition());
    const batchSignal = signal ?? new AbortController().signal;
    for (;;) {
      if (signal?.aborted) throw new CatchUpAbortedError(`${this.label}: catch-up interrupted at ${this.checkpointValue || '(start)'}`);
      if (until !== undefined && this.checkpointValue !== undefined && this.reached(until)) return this.checkpointValue;
      const outcome = await this.serialized(() => this.batch(false, batchSignal, until, prefetch));
      if (outcome === 'beyond') return this.checkpointValue ?? START;
      if (outcome !== 'empty') {
        await yieldToEventLoop();
        continue;
      }
      if (this.reached(target)) return this.checkpointValue ?? START;
      await this.options.store.waitForEvents(this.checkpointValue ?? START, { timeoutMs: this.idleTimeoutMs, ...(signal ? { signal } : {}) });
    }
  }

  /** Resolves true when the loop ended by a fatal error. */
  private async follow(signal: AbortSignal): Promise<boolean> {
    let delay = this.retryDelayMs;
    let attempt = 0;
    let listening = false;
    let failed = false;
    let gathered = false;
    while (!signal.aborted) {
      try {
        if (this.lease && !this.lease.holds()) {
          this.forgetCommitted();
          if (!(await this.lease.take(signal))) {
            if (this.stateValue !== 'standby' && !signal.aborted) {
              this.options.logger.info(`${this.label}: another process holds the lease; standing by`);
              this.stateValue = 'standby';
            }
            await sleep(this.options.lease!.standbyPollMs, signal);
            continue;
          }
          if (!signal.aborted) this.stateValue = 'running';
        }
        if (!listening) {
          // Lets the store set up its wake-ups (PostgresEventStore: LISTEN) before the first
          // real wait, so that wait is registered as soon as it is called.
          await this.options.store.waitForEvents(this.checkpointValue ?? START, { timeoutMs: 0, signal });
          listening = true;
        }
        const outcome = await this.serialized(() => this.batch(true, signal, undefined, false, gathered));
        gathered = false;
        delay = this.retryDelayMs;
        attempt = 0;
        // A batch read short (fewer events than batchSize) found the store drained at that
        // read: after the gathering pause the next batch reads what came meanwhile; without
        // one, the idle wait's own look (registered first, then one read after the checkpoint)
        // finds whatever came since, so a second read-everything batch is not needed. A full or
        // moved batch goes on at once; a batch that found nothing waits for a wake-up.
        const drained = outcome === 'applied' && this.lastReadShort;
        if ((outcome !== 'empty' && !drained) || signal.aborted) {
          await yieldToEventLoop();
          continue;
        }
        if (drained && this.gatherMs > 0) {
          await this.pause(this.lastPassedOnly ? this.passGatherMs : this.gatherMs, signal);
          gathered = true;
          continue;
        }
        await this.idle(signal);
        await this.options.afterIdle?.();
      } catch (err) {
        this.forgetCommitted();
        if (this.options.isFatal?.(err)) {
          failed = true;
          this.rejectWaiters(err);
          break;
        }
        if (signal.aborted) break;
        attempt++;
        this.options.logger.warn(
          { err, attempt, retryInMs: delay, checkpoint: this.checkpointValue },
          `${this.label}: reading events or handling them failed, retrying in ${delay} ms: ${(err as Error)?.message ?? err}`,
        );
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
    if (!failed) {
      await this.serialized(() => this.saveUnsaved()).catch((err: unknown) =>
        this.options.logger.warn({ err }, `${this.label}: saving the checkpoint on stopping failed; the events since the saved one are read again on the next start`),
      );
    }
    this.lease?.stopRenewing();
    await this.options.onStopped?.(failed);
    return failed;
  }

  /** The gathering pause: ends after `ms`, on stop(), or on hurry(). */
  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.endPause === done) this.endPause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.endPause = done;
    });
  }

  /**
   * Waits for new events. The wait is registered before the store looks again (inside
   * waitForEvents), so an append that commits after the last read wakes it; events held back
   * behind an open transaction are the store's to notice.
   */
  private async idle(signal: AbortSignal): Promise<void> {
    const wait = new AbortController();
    const stop = () => wait.abort();
    signal.addEventListener('abort', stop);
    this.wakeIdle = stop;
    // Woken while busy (a batch, the gathering pause): the wait starts aborted and ends at once.
    if (this.wakePending) wait.abort();
    this.wakePending = false;
    try {
      await this.options.store.waitForEvents(this.checkpointValue ?? START, { timeoutMs: this.idleTimeoutMs, signal: wait.signal });
    } finally {
      this.wakeIdle = undefined;
      signal.removeEventListener('abort', stop);
    }
  }

  /** One batch at a time per consumer, whether the live loop or catchUp() asks. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** `gathered`: the live loop's read after its gathering pause (finding nothing keeps its own commit's checkpoint for the next batch). */
  private async batch(live: boolean, signal: AbortSignal, until?: Position, prefetch = false, gathered = false): Promise<BatchOutcome> {
    await this.options.beforeBatch?.(live);
    const { store, db, table } = this.options;
    const name = this.checkpointName;
    const committed = this.committedCheckpoint;
    this.committedCheckpoint = undefined;
    const own = live && committed?.name === name ? committed : undefined;
    // Read from the row: what passes moved unsaved is read again (it needed nothing).
    if (!own) this.dropUnsaved();
    const from = own ? own.position : await loadCheckpoint(db, table, name);
    const saved = own ? own.saved : from;
    this.observe(from);
    const ahead = this.prefetched;
    this.prefetched = undefined;
    let events = ahead && ahead.name === name && ahead.after === from ? await ahead.page : await store.readAll({ after: from, limit: this.batchSize });
    this.lastReadShort = events.length < this.batchSize;
    if (events.length === 0) {
      // Nothing came during the gathering pause, or passes are still unsaved: the next batch
      // still starts from this consumer's own checkpoint (the row need not be read again, and
      // reading it would drop the passes; a rewind meanwhile is caught by the next
      // compare-and-set, as after any commit).
      if (own && (gathered || this.unsaved)) this.committedCheckpoint = own;
      return 'empty';
    }
    if (prefetch && events.length === this.batchSize && (until === undefined || comparePositions(events[events.length - 1]!.position, until) < 0)) {
      const after = events[events.length - 1]!.position;
      const page = store.readAll({ after, limit: this.batchSize });
      page.catch(() => undefined); // awaited (and its error seen) by the next batch, or dropped
      this.prefetched = { name, after, page };
    }
    if (until !== undefined) {
      events = events.filter((e) => comparePositions(e.position, until) <= 0);
      if (events.length === 0) return 'beyond';
    }
    const batch = new ConsumerBatch(this, name, from, saved, events, signal, live);
    this.lastPassedOnly = false;
    try {
      await this.options.handler(batch);
      this.lastPassedOnly = batch.passedOnly;
    } catch (err) {
      if (!(err instanceof CheckpointMovedError) && !(err instanceof LeaseLostError)) {
        // The passes before this batch stand whatever became of it: saved, so a failure that
        // ends the loop leaves the row where this batch began.
        await this.saveUnsaved().catch(() => undefined);
      }
      this.forgetCommitted();
      if (err instanceof CheckpointMovedError) {
        this.options.logger.debug({ from, err: err.message }, `${this.label}: the checkpoint moved under this batch; reading again`);
      } else if (err instanceof LeaseLostError && this.lease) {
        this.lease.lost();
      } else {
        throw err;
      }
    }
    return batch.committed ? 'applied' : 'moved';
  }

  /** @internal The batch's commit: see Batch.commit. */
  async commit(name: string, from: Position, to: Position, apply?: (trx: Transaction<any>) => Promise<void>): Promise<void> {
    const { db, table, guard } = this.options;
    const lease = this.lease ? { owner: this.lease.owner, ms: this.lease.ms } : undefined;
    const asked = performance.now();
    // Nothing to write but the checkpoint: its compare-and-set is one statement and needs no
    // transaction (nor the guard, which keeps a batch's writes off a read model nobody reads
    // any more). When it matches nothing, the transaction below finds out why.
    if (!apply && (await moveCheckpoint(db, { table, name, from, to, ...(lease ? { lease } : {}) }))) {
      this.lease?.extended(asked);
      this.committed(name, to);
      return;
    }
    await db.transaction().execute(async (trx) => {
      if (guard) await guard(trx);
      const write = await lockCheckpoint(trx, { table, name, from, to, ...(lease ? { lease } : {}) });
      if (apply) await apply(trx);
      await write();
    });
    this.lease?.extended(asked);
    this.committed(name, to);
  }

  /**
   * @internal The batch's pass: see Batch.pass. Resolves with the position the row holds now
   * (`saved` while the move stays unsaved, `to` once written).
   */
  async pass(name: string, saved: Position, to: Position, live: boolean): Promise<Position> {
    const now = performance.now();
    const since = this.unsaved?.name === name ? this.unsaved.since : now;
    if (!live || this.passSaveDelayMs === 0 || now - since >= this.passSaveDelayMs) {
      await this.commit(name, saved, to);
      return to;
    }
    this.unsaved = { name, saved, position: to, since };
    this.committedCheckpoint = { name, position: to, saved };
    this.observe(to);
    if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        // Between batches (a batch in hand commits or saves it itself); a failure here only
        // means the next batch reads the row again.
        this.serialized(() => this.saveUnsaved()).catch((err: unknown) =>
          this.options.logger.debug({ err }, `${this.label}: saving the checkpoint failed; the next batch reads it again`),
        );
      }, this.passSaveDelayMs - (now - since));
      this.saveTimer.unref();
    }
    return saved;
  }

  /** Writes what passes moved and left unsaved; a row moved meanwhile (a rewind, another process) is read again by the next batch. */
  private async saveUnsaved(): Promise<void> {
    const unsaved = this.unsaved;
    if (!unsaved) return;
    try {
      await this.commit(unsaved.name, unsaved.saved, unsaved.position);
    } catch (err) {
      this.forgetCommitted();
      if (err instanceof LeaseLostError && this.lease) this.lease.lost();
      else if (!(err instanceof CheckpointMovedError)) throw err;
      // The row moved (a rewind, another process): the loop reads it now, not after its idle wait.
      this.wake();
    }
  }

  private committed(name: string, to: Position): void {
    this.dropUnsaved();
    this.committedCheckpoint = { name, position: to, saved: to };
    this.observe(to);
  }

  /** The next batch reads the row again (and with it forgets what passes left unsaved). */
  private forgetCommitted(): void {
    this.committedCheckpoint = undefined;
    this.dropUnsaved();
  }

  private dropUnsaved(): void {
    this.unsaved = undefined;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
  }

  /** @internal */
  active(signal: AbortSignal): boolean {
    return !signal.aborted && (this.lease?.holds() ?? true);
  }

  private observe(position: Position): void {
    this.checkpointValue = position;
    this.options.onCheckpoint?.(position);
    for (const waiter of this.waiters) {
      if (this.reached(waiter.position)) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  private rejectWaiters(err: unknown): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.waiters.clear();
  }
}

class ConsumerBatch implements Batch {
  committed = false;
  /** True while every move of the checkpoint was a pass (and there was one). */
  passedOnly = false;
  private wrote = false;

  constructor(
    private readonly consumer: CheckpointedConsumer,
    readonly checkpointName: string,
    public from: Position,
    /** What the row holds (behind `from` by what passes left unsaved): the compare-and-set's expectation. */
    private saved: Position,
    readonly events: readonly RecordedEvent[],
    readonly signal: AbortSignal,
    private readonly live: boolean,
  ) {}

  active(): boolean {
    return this.consumer.active(this.signal);
  }

  async commit(to: Position, apply?: (trx: Transaction<any>) => Promise<void>): Promise<void> {
    await this.consumer.commit(this.checkpointName, this.saved, to, apply);
    this.from = this.saved = to;
    this.committed = true;
    this.wrote = true;
    this.passedOnly = false;
  }

  async pass(to: Position): Promise<void> {
    this.saved = await this.consumer.pass(this.checkpointName, this.saved, to, this.live);
    this.from = to;
    this.committed = true;
    this.passedOnly = !this.wrote;
  }
}

/** The lease as this process sees it: held until when, renewed by a timer. */
class LeaseHolder {
  /** performance.now() until which the lease is surely ours; 0 = not held. */
  private validUntil = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private everHeld = false;

  constructor(
    private readonly lease: CheckpointLease,
    private readonly logger: Logger,
    private readonly label: () => string,
  ) {}

  get owner(): string {
    return this.lease.owner;
  }
  get ms(): number {
    return this.lease.leaseMs;
  }

  /** True while the lease is ours with a margin (a renewal may be missed once). */
  holds(): boolean {
    return this.validUntil > 0 && performance.now() < this.validUntil - this.ms / 4;
  }

  async take(signal: AbortSignal): Promise<boolean> {
    const asked = performance.now();
    const position = await this.lease.acquire();
    if (position === undefined) return false;
    this.validUntil = asked + this.ms;
    this.stopped = signal.aborted;
    if (!this.stopped) this.scheduleRenewal();
    this.logger.info(
      { checkpoint: position || 'start' },
      this.everHeld ? `${this.label()}: took the lease again` : `${this.label()}: following the event store`,
    );
    this.everHeld = true;
    return true;
  }

  extended(asked: number): void {
    if (this.validUntil > 0) this.validUntil = asked + this.ms;
  }

  lost(): void {
    this.validUntil = 0;
    this.stopRenewing();
    this.logger.warn(`${this.label()}: the lease was lost; the checkpoint was not saved`);
  }

  stopRenewing(): void {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }

  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing;
    if (this.validUntil === 0) return;
    this.validUntil = 0;
    await this.lease.release().catch((err: unknown) => this.logger.warn({ err }, `${this.label()}: releasing the lease failed; it runs out by itself`));
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, Math.max(10, Math.floor(this.ms / 3)));
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.validUntil === 0 || this.stopped) return;
    const asked = performance.now();
    try {
      if (await this.lease.renew()) {
        if (this.validUntil > 0) this.validUntil = asked + this.ms;
      } else {
        this.validUntil = 0;
        this.logger.warn(`${this.label()}: the lease ran out and another process took it`);
      }
    } catch (err) {
      this.logger.warn({ err }, `${this.label()}: renewing the lease failed`);
    }
    if (this.validUntil > 0 && !this.stopped) this.scheduleRenewal();
  }
}

/**
 * The live loop's pause after a batch that read the store dry (gatherMs). At this machine's
 * half-peak rate (~300 appends/s, one every ~3 ms) a wake-up per append had each of the three
 * consumers reading, looking and committing for one or two events; 5 ms gathers several.
 */
const DEFAULT_GATHER_MS = 5;

/** passGatherMs by default: the row of a passing consumer is saved on this cadence too (passSaveDelayMs). */
const DEFAULT_PASS_GATHER_MS = 50;

/**
 * passSaveDelayMs by default: at this machine's half-peak rate the notifier's and the sessions
 * projection's checkpoint writes for events they had no use for were 0.6 statements per request
 * (a commit each); within 50 ms a restart reads few events again.
 */
const DEFAULT_PASS_SAVE_DELAY_MS = 50;

/**
 * Lets timers and I/O run between two batches. PGlite answers in the same process, so a run of
 * batches would otherwise be one long chain of promises: an embedded server catching up would
 * not answer a request until it is done.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits, unless aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
