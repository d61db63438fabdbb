import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  BACKWARDS,
  DeadlineExceededError,
  END as ESDB_END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  NO_STREAM,
  START as ESDB_START,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendResult as EsdbAppendResult,
  type AppendToStreamOptions,
  type EventData,
  type Position as EsdbPosition,
  type ReadAllOptions as EsdbReadAllOptions,
  type ReadPosition as EsdbReadPosition,
  type ReadStreamOptions,
  type ResolvedEvent as EsdbResolvedEvent,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { EventStoreUnavailableError, InvalidAppendError, WrongExpectedVersionError } from '../errors.js';
import {
  START,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type RecordedEvent,
  type WaitOptions,
} from '../event-store.js';
import { validateAppend } from '../validate-append.js';
import {
  actualRevisionFromEsdb,
  decodeEsdbPosition,
  encodeEsdbPosition,
  rawEsdbPosition,
  sequenceFromRevision,
  toEsdbEventData,
  toEsdbExpectedRevision,
  toRecordedEvent,
  toWrongExpectedVersionError,
} from './mapping.js';
import { waitForWakeUp } from '../wake-up.js';

const DEFAULT_READ_LIMIT = 1000;
/**
 * $all also holds system and link events, which the port does not show and which the client
 * (6.x) cannot filter out of a read: pages are at least this long so that a reader does not
 * make one round trip per hidden event.
 */
const MIN_PAGE = 100;
const PING_TIMEOUT_MS = 5_000;

/** A read as the client returns it: async-iterable, and cancellable when it is the real one. */
export type EsdbRead<E> = AsyncIterable<E> & { cancel?: () => Promise<void> };

/** The live subscription to $all: only what waitForEvents uses. */
export interface EsdbLiveSubscription {
  on(event: 'data' | 'confirmation' | 'error' | 'end' | 'close', listener: (...args: any[]) => void): unknown;
  unsubscribe(): Promise<void>;
}

/**
 * The part of the client (EventStoreDBClient of @eventstore/db-client) the adapter uses, so
 * tests can pass a fake.
 */
export interface EventStoreDbClientPort {
  appendToStream(streamName: string, events: EventData[], options: AppendToStreamOptions): Promise<EsdbAppendResult>;
  readStream(streamName: string, options: ReadStreamOptions): EsdbRead<EsdbResolvedEvent>;
  readAll(options: EsdbReadAllOptions): EsdbRead<AllStreamResolvedEvent>;
  subscribeToAll(options: SubscribeToAllOptions): EsdbLiveSubscription;
  dispose(): Promise<void>;
}

/**
 * The event store on EventStoreDB. Streams, event types and JSON payloads map one to one;
 * sequences are revisions + 1 and positions are EventStoreDB's {commit, prepare} as a
 * fixed-width string (see mapping.ts). EventStoreDB orders $all by commit itself, so a reader
 * never sees an event appear behind one it has already read.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private live?: { subscription: EsdbLiveSubscription; ready: Promise<void> };
  private closed = false;

  constructor(private readonly client: EventStoreDbClientPort) {}

  /** A store on its own client, e.g. "esdb://localhost:2113?tls=false". */
  static connect(connectionString: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));
  }

  async append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    validateAppend(stream, events, expectedRevision);
    events.forEach((event, i) => {
      // EventStoreDB reserves "$" types for itself (its readers and filters skip them).
      if (event.type.startsWith('$')) throw new InvalidAppendError(`event ${i}: types starting with "$" are reserved by EventStoreDB`);
    });
    const ids = events.map(() => randomUUID());
    const data = events.map((event, i) => toEsdbEventData(event, ids[i]));

    let result: EsdbAppendResult;
    try {
      result = await this.client.appendToStream(stream, data, { expectedRevision: toEsdbExpectedRevision(expectedRevision) });
    } catch (err) {
      if (err instanceof EsdbWrongExpectedVersionError) throw toWrongExpectedVersionError(stream, expectedRevision, err);
      throw translateError(err);
    }
    if (!result.success) {
      // Only when the client was built with throwOnAppendFailure: false.
      const current = result.nextExpectedRevision;
      throw new WrongExpectedVersionError(stream, expectedRevision, actualRevisionFromEsdb(current < 0n ? NO_STREAM : current));
    }

    // The append result carries the stream's last revision but neither the positions nor the
    // timestamps of the events: read them back, from the leader, which has just written them.
    const first = result.nextExpectedRevision - BigInt(events.length - 1);
    const written = await this.readRange(stream, first, events.length);
    if (written.length !== events.length || written.some((event, i) => event.id.toLowerCase() !== ids[i])) {
      throw new Error(
        `stream "${stream}": reading back the ${events.length} event(s) just appended at revision ${first} returned other events`,
      );
    }
    return {
      events: written.map((event) => ({ sequence: event.sequence, position: event.position, createdAt: event.createdAt })),
      nextExpectedRevision: sequenceFromRevision(result.nextExpectedRevision),
    };
  }

  private async readRange(stream: string, fromRevision: bigint, count: number): Promise<RecordedEvent[]> {
    let resolved: EsdbResolvedEvent[];
    try {
      resolved = await collect(this.client.readStream(stream, { fromRevision, maxCount: count, direction: FORWARDS, requiresLeader: true }));
    } catch (err) {
      throw translateError(err);
    }
    return resolved.map(toRecordedEvent).filter((event): event is RecordedEvent => event !== undefined);
  }

  async readStream(stream: string): Promise<RecordedEvent[]> {
    if (typeof stream !== 'string' || stream === '') throw new InvalidAppendError('stream name must be a non-empty string');
    let resolved: EsdbResolvedEvent[];
    try {
      resolved = await collect(this.client.readStream(stream, { fromRevision: ESDB_START, direction: FORWARDS }));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw translateError(err);
    }
    return resolved.map(toRecordedEvent).filter((event): event is RecordedEvent => event !== undefined);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? START;
    let from = decodeEsdbPosition(after);
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    const events: RecordedEvent[] = [];
    if (limit <= 0) return events;
    // Everything at or before `cursor` has been looked at: `fromPosition` is inclusive, so the
    // event at `after` (and, on later pages, the last one of the page before) comes again.
    let cursor = after;
    for (;;) {
      const pageSize = Math.max(limit - events.length + 1, MIN_PAGE);
      const page = await this.readAllPage({ fromPosition: from, maxCount: pageSize, direction: FORWARDS });
      let last: EsdbPosition | undefined;
      for (const resolved of page) {
        last = rawEsdbPosition(resolved) ?? last;
        const event = toRecordedEvent(resolved);
        if (event === undefined || event.position <= cursor) continue;
        events.push(event);
        if (events.length === limit) return events;
      }
      if (page.length < pageSize) return events;
      // A full page of events the port does not show (or already had): read on after it.
      const next = last === undefined ? undefined : encodeEsdbPosition(last);
      if (last === undefined || next === undefined || next <= cursor) {
        throw new Error(`reading $all after "${cursor}" made no progress`);
      }
      cursor = next;
      from = last;
    }
  }

  async headPosition(): Promise<Position> {
    // The newest event the port shows, which need not be the newest in $all.
    let from: EsdbReadPosition = ESDB_END;
    let cursor: Position | undefined;
    let pageSize = 1;
    for (;;) {
      const page = await this.readAllPage({ fromPosition: from, maxCount: pageSize, direction: BACKWARDS });
      let last: EsdbPosition | undefined;
      for (const resolved of page) {
        last = rawEsdbPosition(resolved) ?? last;
        const event = toRecordedEvent(resolved);
        if (event !== undefined && (cursor === undefined || event.position < cursor)) return event.position;
      }
      if (page.length < pageSize) return START;
      const next = last === undefined ? undefined : encodeEsdbPosition(last);
      if (last === undefined || next === undefined || (cursor !== undefined && next >= cursor)) {
        throw new Error(`reading $all backwards from "${cursor ?? 'the end'}" made no progress`);
      }
      cursor = next;
      from = last;
      pageSize = MIN_PAGE;
    }
  }

  private async readAllPage(options: EsdbReadAllOptions): Promise<AllStreamResolvedEvent[]> {
    try {
      return await collect(this.client.readAll(options));
    } catch (err) {
      throw translateError(err);
    }
  }

  async waitForEvents(after: Position, options: WaitOptions): Promise<void> {
    if (this.closed || options.signal?.aborted) return;
    // Once the subscription is live, an event appended between the caller's last read and now
    // would not wake us: look at the log once more.
    return waitForWakeUp(this.appended, options, async (isDone) => {
      await this.ensureSubscribed();
      return !isDone() && (await this.readAll({ after, limit: 1 })).length > 0;
    });
  }

  /**
   * One live subscription to $all for all waiters, started on the first wait. It resolves once
   * the server has confirmed it (or it has failed: the waiters then rely on their time-out, and
   * the next wait starts a new one).
   */
  private ensureSubscribed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.live) return this.live.ready;
    const subscription = this.client.subscribeToAll({ fromPosition: ESDB_END, filter: excludeSystemEvents() });
    let confirmed!: () => void;
    const ready = new Promise<void>((resolve) => (confirmed = resolve));
    const dropped = () => {
      if (this.live?.subscription === subscription) this.live = undefined;
      confirmed();
    };
    subscription.on('confirmation', () => confirmed());
    subscription.on('data', () => this.appended.emit('appended'));
    subscription.on('error', dropped);
    subscription.on('end', dropped);
    subscription.on('close', dropped);
    this.live = { subscription, ready };
    return ready;
  }

  async ping(): Promise<void> {
    // The client gives reads no deadline of their own.
    let read: EsdbRead<AllStreamResolvedEvent> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      read = this.client.readAll({ fromPosition: ESDB_END, direction: BACKWARDS, maxCount: 1 });
      await Promise.race([collect(read), timeout]);
    } catch (err) {
      read?.cancel?.().catch(() => undefined);
      throw new EventStoreUnavailableError(`EventStoreDB is unreachable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const live = this.live;
    this.live = undefined;
    // Waiters may return early ("an event may be readable"): let them go now.
    this.appended.emit('appended');
    this.appended.removeAllListeners();
    await live?.subscription.unsubscribe().catch(() => undefined);
    await this.client.dispose();
  }
}

async function collect<E>(read: AsyncIterable<E>): Promise<E[]> {
  const items: E[] = [];
  for await (const item of read) items.push(item);
  return items;
}

/** Connection failures as the port's error; anything else as it is. */
function translateError(err: unknown): unknown {
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
    return new EventStoreUnavailableError(`EventStoreDB is unreachable: ${err.message}`, { cause: err });
  }
  return err;
}
