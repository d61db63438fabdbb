import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { preparedStatement, type SqlDatabase, type Statement, type Unlisten } from '#database';
import { InvalidAppendError, WrongExpectedVersionError } from '../errors.js';
import {
  START,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type JsonObject,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type RecordedEvent,
  type StreamAppend,
  type WaitOptions,
} from '../event-store.js';
import { isUnstorableText, validateAppend } from '../validate-append.js';
import { waitForWakeUp } from '../wake-up.js';
import { decodePostgresPosition, encodePostgresPosition } from './position.js';

const APPENDED_CHANNEL = 'eventstore_appended';
const UNIQUE_VIOLATION = '23505';
const MAX_ANY_RETRIES = 10;
const MAX_MANY_RETRIES = 30;
const DEFAULT_READ_LIMIT = 1000;

export interface PostgresEventStoreOptions {
  /**
   * Test hook: when set, an append runs in an explicit transaction and awaits this before
   * COMMIT, so a test can hold a transaction open while others commit.
   */
  beforeCommit?: (stream: string) => Promise<void>;
  /** How long a NOTIFY to other processes waits for more appends to stand for (default 5 ms; see announceAppend). */
  notifyGatherMs?: number;
}

/** notifyGatherMs by default: the consumers (CheckpointedConsumer's gatherMs) pause that long after a batch anyway. */
const NOTIFY_GATHER_MS = 5;

const EVENT_COLUMNS = 'transaction_id::text, global_seq::text, id, stream, sequence, type, data, metadata, created_at';

/**
 * readAll reads only transactions older than the oldest one still open: everything below that
 * xid has either committed or aborted, so nothing can later appear behind the reader. Columns
 * are qualified: a bare name in ORDER BY would sort by the ::text output column instead.
 */
const READ_ALL_WHERE = `from eventstore.events e
     where (e.transaction_id, e.global_seq) > ($1::xid8, $2::bigint)
       and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     order by e.transaction_id, e.global_seq`;

/**
 * waitForEvents' look at the log after a position, in one round trip (it was a readAll of one
 * event, then the head): `readable`, readAll would return an event now; `beyond`, an event past
 * it has committed (the head is past it) but is held back behind an older open transaction.
 * Each part reads the first index entry past the position (order by the key, limit 1): written
 * as `exists(…)`, PostgreSQL's generic plan scanned the whole log instead (its estimate for a
 * row comparison with parameters is a third of the table), on every look.
 */
export const LOOK_STATEMENT = preparedStatement(
  'eventstore_look',
  `select (select 1 ${READ_ALL_WHERE} limit 1) is not null as readable,
          (select 1 from eventstore.events e where (e.transaction_id, e.global_seq) > ($1::xid8, $2::bigint)
            order by e.transaction_id, e.global_seq limit 1) is not null as beyond`,
);

/** The statements of every request, prepared once per connection (SqlDatabase.run). */
const STATEMENTS = {
  append: preparedStatement('eventstore_append', 'select * from eventstore.append($1, $2::jsonb, $3::int) order by sequence'),
  readStream: preparedStatement('eventstore_read_stream', `select ${EVENT_COLUMNS} from eventstore.events where stream = $1 order by sequence`),
  head: preparedStatement(
    'eventstore_head',
    'select e.transaction_id::text, e.global_seq::text from eventstore.events e order by e.transaction_id desc, e.global_seq desc limit 1',
  ),
  revision: preparedStatement('eventstore_revision', 'select coalesce(max(sequence), 0)::int as v from eventstore.events where stream = $1'),
  look: LOOK_STATEMENT,
};

/**
 * readAll's statements: one prepared statement per limit, the limit written into it: with
 * `limit $3` PostgreSQL judged its generic plan dearer than a plan for the given limit and
 * planned every call again (150 µs of its CPU per call). Callers use a handful of fixed limits
 * (batch sizes, 1); past READ_ALL_PREPARED_LIMITS distinct ones, or a limit that is not a
 * positive integer, the statement is sent unprepared with the limit as a parameter.
 */
const READ_ALL_PREPARED_LIMITS = 32;
const readAllStatements = new Map<number, Statement>();

function readAllStatement(limit: number): Statement {
  let statement = readAllStatements.get(limit);
  if (!statement) {
    const preparable = Number.isSafeInteger(limit) && limit > 0 && readAllStatements.size < READ_ALL_PREPARED_LIMITS;
    if (!preparable) return { text: `select ${EVENT_COLUMNS} ${READ_ALL_WHERE} limit $3` };
    statement = preparedStatement(`eventstore_read_all_${limit}`, `select ${EVENT_COLUMNS} ${READ_ALL_WHERE} limit ${limit}`);
    readAllStatements.set(limit, statement);
  }
  return statement;
}

interface AppendRow {
  current: number;
  sequence: number | null;
  transaction_id: string | null;
  global_seq: string | null;
  created_at: Date | null;
}

interface EventRow {
  transaction_id: string;
  global_seq: string;
  id: string;
  stream: string;
  sequence: number;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  created_at: Date;
}

/**
 * The event store on PostgreSQL, server (pg pool) or embedded (PGlite): the same SQL on both.
 * Appends are one statement (one round trip). Readers never pass an open transaction: see
 * docs/eventstore.md.
 */
export class PostgresEventStore implements EventStore {
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private unlisten?: Promise<Unlisten>;
  private notifyInFlight = false;
  private notifyPending = false;
  private notifyTimer: NodeJS.Timeout | undefined;
  /**
   * Names this store instance in its NOTIFY payloads: its own notifications come back through
   * its LISTEN, and its readers were already woken in process when it appended, so the echo is
   * ignored (it woke every consumer a second time, each then reading again: a few statements
   * per append under live load).
   */
  private readonly origin = randomUUID();

  constructor(
    private readonly database: SqlDatabase,
    private readonly options: PostgresEventStoreOptions = {},
  ) {}

  private get db(): Kysely<any> {
    return this.database.db;
  }

  async append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    validateAppend(stream, events, expectedRevision);
    const payload = JSON.stringify(events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata ?? {} })));
    const expected = expectedRevision === 'any' ? null : expectedRevision === 'no_stream' ? 0 : expectedRevision;

    for (let attempt = 0; ; attempt++) {
      let rows: AppendRow[];
      try {
        rows = await this.insert(stream, payload, expected);
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        // A concurrent writer took the same sequence numbers first.
        if (expected === null && attempt < MAX_ANY_RETRIES) continue;
        throw new WrongExpectedVersionError(stream, expectedRevision, await this.currentRevision(stream));
      }
      const first = rows[0];
      if (!first || first.sequence === null) {
        throw new WrongExpectedVersionError(stream, expectedRevision, Number(first?.current ?? 0));
      }
      this.announceAppend();
      const appended = rows.map((row) => ({
        sequence: row.sequence!,
        position: encodePostgresPosition(row.transaction_id!, row.global_seq!),
        createdAt: row.created_at!,
      }));
      return { events: appended, nextExpectedRevision: appended[appended.length - 1]!.sequence };
    }
  }

  /**
   * The one mutation of recorded events the store allows: an operator's erasure of personal
   * data written before it was sealed per person (`users erase`). Each change replaces an
   * event's payload and/or moves it to another stream name (a username claim stream named by
   * the plain name); ids, sequences, positions, types and times stay, so checkpoints and the
   * order of everything stay valid. All changes in one transaction, or none.
   */
  async rewriteInPlace(changes: readonly { id: string; data?: JsonObject; stream?: string }[]): Promise<void> {
    if (changes.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const change of changes) {
        if (change.data) await sql`update eventstore.events set data = ${JSON.stringify(change.data)}::jsonb where id = ${change.id}::uuid`.execute(trx);
        if (change.stream) await sql`update eventstore.events set stream = ${change.stream} where id = ${change.id}::uuid`.execute(trx);
      }
    });
  }

  /**
   * Several streams in one transaction, each with its expected revision: all or nothing. The
   * parts are written in stream-name order whatever the caller's order, so two multi-stream
   * appends that share streams wait for each other on the unique index instead of deadlocking.
   */
  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (!Array.isArray(appends) || appends.length === 0) {
      throw new InvalidAppendError('a multi-stream append needs at least one stream');
    }
    const streams = new Set<string>();
    for (const part of appends) {
      validateAppend(part?.stream, part?.events, part?.expectedRevision);
      if (streams.has(part.stream)) throw new InvalidAppendError(`stream "${part.stream}" appears twice in one append`);
      streams.add(part.stream);
    }
    const parts = appends.map((part: StreamAppend, index: number) => ({
      index,
      stream: part.stream,
      expectedRevision: part.expectedRevision,
      payload: JSON.stringify(part.events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata ?? {} }))),
      expected: part.expectedRevision === 'any' ? null : part.expectedRevision === 'no_stream' ? 0 : part.expectedRevision,
    }));
    const ordered = [...parts].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));

    for (let attempt = 0; ; attempt++) {
      let results: AppendResult[];
      try {
        results = await this.db.transaction().execute(async (trx) => {
          const out: AppendResult[] = new Array(parts.length);
          for (const part of ordered) {
            const { rows } = await trx.executeQuery<AppendRow>(appendStatement(part.stream, part.payload, part.expected));
            const first = rows[0];
            if (!first || first.sequence === null) {
              // Throwing rolls the whole transaction back: the streams before this one keep nothing.
              throw new WrongExpectedVersionError(part.stream, part.expectedRevision, Number(first?.current ?? 0));
            }
            out[part.index] = toAppendResult(rows);
          }
          await this.options.beforeCommit?.(ordered[0]!.stream);
          return out;
        });
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        // A concurrent writer took the same sequence numbers of some stream first. The next
        // attempt reads the revisions again: a numeric expectation that no longer holds then
        // fails with that stream's actual revision, 'any' simply goes on top. A short random
        // wait first, so that writers that collided once do not collide again in lock step.
        if (attempt < MAX_MANY_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
          continue;
        }
        const stream = (err as { detail?: string }).detail?.match(/=\((.*), \d+\)/)?.[1] ?? ordered[0]!.stream;
        const part = parts.find((p) => p.stream === stream) ?? ordered[0]!;
        throw new WrongExpectedVersionError(part.stream, part.expectedRevision, await this.currentRevision(part.stream));
      }
      this.announceAppend();
      return results;
    }
  }

  private async insert(stream: string, payload: string, expected: number | null): Promise<AppendRow[]> {
    // One statement: read the stream's revision, check it, insert (eventstore.append, see
    // schema.ts). A concurrent writer that read the same revision collides on unique
    // (stream, sequence) and gets 23505.
    const hook = this.options.beforeCommit;
    if (!hook) return this.database.run<AppendRow>(STATEMENTS.append, [stream, payload, expected]);
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await trx.executeQuery<AppendRow>(appendStatement(stream, payload, expected));
      await hook(stream);
      return rows;
    });
  }

  private async currentRevision(stream: string): Promise<number> {
    const rows = await this.database.run<{ v: number }>(STATEMENTS.revision, [stream]);
    return Number(rows[0]?.v ?? 0);
  }

  async readStream(stream: string): Promise<RecordedEvent[]> {
    if (typeof stream !== 'string' || stream === '') throw new InvalidAppendError('stream name must be a non-empty string');
    // No append can have written such a name (validateAppend refuses it), and PostgreSQL
    // would refuse the query's NUL: the stream is empty.
    if (isUnstorableText(stream)) return [];
    return (await this.database.run<EventRow>(STATEMENTS.readStream, [stream])).map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const { transactionId, globalSeq } = decodePostgresPosition(options.after ?? START);
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    const statement = readAllStatement(limit);
    const rows = await this.database.run<EventRow>(statement, statement.name ? [transactionId, globalSeq] : [transactionId, globalSeq, limit]);
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<Position> {
    const [row] = await this.database.run<{ transaction_id: string; global_seq: string }>(STATEMENTS.head, []);
    return row ? encodePostgresPosition(row.transaction_id, row.global_seq) : START;
  }

  async waitForEvents(after: Position, options: WaitOptions): Promise<void> {
    await this.ensureListening();
    return waitForWakeUp(this.appended, options, (isDone) => this.checkHeldBack(after, isDone));
  }

  /**
   * Looks once at what readAll shows now (an event committed between the caller's last read
   * and the registration would wake nobody). If the head is past `after` but readAll shows
   * nothing, events are held back behind an open transaction whose commit may notify nobody
   * (it need not be an append): re-check with a short back-off instead of waiting for a
   * wake-up. Never a busy loop: 10 ms doubling to 1 s.
   */
  private async checkHeldBack(after: Position, isDone: () => boolean): Promise<boolean> {
    const { transactionId, globalSeq } = decodePostgresPosition(after);
    for (let delay = 10; !isDone(); delay = Math.min(delay * 2, 1_000)) {
      const [look] = await this.database.run<{ readable: boolean; beyond: boolean }>(STATEMENTS.look, [transactionId, globalSeq]);
      if (look?.readable) return true;
      if (!look?.beyond) return false;
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
    return false;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    if (this.notifyTimer) {
      clearTimeout(this.notifyTimer);
      this.notifyTimer = undefined;
      await this.database.notify(APPENDED_CHANNEL, this.origin).catch(() => undefined);
    }
    const unlisten = await this.unlisten?.catch(() => undefined);
    await unlisten?.();
    this.appended.removeAllListeners();
  }

  private ensureListening(): Promise<Unlisten> {
    this.unlisten ??= this.database.listen(APPENDED_CHANNEL, (payload) => {
      if (payload !== this.origin) this.appended.emit('appended');
    });
    return this.unlisten;
  }

  /**
   * Wakes readers in this process at once, and other processes through NOTIFY. The NOTIFY is
   * sent outside the append's transaction (PostgreSQL serializes the commits of notifying
   * transactions, which would cost appends their group commit) and gathered: one NOTIFY at most
   * notifyGatherMs after an append stands for every append until it is sent (a statement per
   * append under a steady stream, and a delivery to every listening process, for readers that
   * gather that long anyway before they read).
   */
  private announceAppend(): void {
    this.appended.emit('appended');
    if (this.database.kind === 'server') this.notifyOtherProcesses();
  }

  private notifyOtherProcesses(): void {
    if (this.notifyInFlight) {
      this.notifyPending = true;
      return;
    }
    if (this.notifyTimer) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      this.sendNotify();
    }, this.options.notifyGatherMs ?? NOTIFY_GATHER_MS);
  }

  private sendNotify(): void {
    this.notifyInFlight = true;
    this.database
      .notify(APPENDED_CHANNEL, this.origin)
      .catch(() => undefined)
      .finally(() => {
        this.notifyInFlight = false;
        if (this.notifyPending) {
          this.notifyPending = false;
          this.notifyOtherProcesses();
        }
      });
  }
}

/** The append inside a kysely transaction (appendMany, the test hook): the prepared statement's text, on the transaction's connection. */
function appendStatement(stream: string, payload: string, expected: number | null) {
  return CompiledQuery.raw(STATEMENTS.append.text, [stream, payload, expected]);
}

function toAppendResult(rows: AppendRow[]): AppendResult {
  const events = rows.map((row) => ({
    sequence: row.sequence!,
    position: encodePostgresPosition(row.transaction_id!, row.global_seq!),
    createdAt: row.created_at!,
  }));
  return { events, nextExpectedRevision: events[events.length - 1]!.sequence };
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    stream: row.stream,
    type: row.type,
    sequence: Number(row.sequence),
    position: encodePostgresPosition(row.transaction_id, row.global_seq),
    createdAt: row.created_at,
    data: row.data,
    metadata: row.metadata,
  };
}
