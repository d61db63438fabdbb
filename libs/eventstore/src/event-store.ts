/**
 * The event store port. Adapters: PostgresEventStore (server PostgreSQL and embedded PGlite)
 * and EventStoreDbEventStore. Every adapter passes libs/eventstore/src/testing/contract.ts.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A global position: opaque, totally ordered by plain string comparison, and stable as a
 * checkpoint in a text column. START sorts before every real position.
 */
export type Position = string;
export const START: Position = '';

export function comparePositions(a: Position, b: Position): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the writer believes the stream's version is. A number is the sequence of the stream's
 * last event (0 means the stream is empty, the same as 'no_stream').
 */
export type ExpectedRevision = number | 'no_stream' | 'any';

/**
 * What every event is: a type name and a JSON payload. A stream's events are a discriminated
 * union of such shapes (a `type` literal with its own `data`), declared by the domain that owns
 * the stream; the store itself only ever sees this shape.
 */
export type AnyEvent = { type: string; data: JsonObject };

/**
 * An event to append. `E` is the stream's event union (for example the user stream's
 * UserEvent); without it, any type name and JSON payload.
 */
export type NewEvent<E extends AnyEvent = AnyEvent> = E & { metadata?: JsonObject };

export interface AppendedEvent {
  /** 1-based position of the event in its stream. */
  sequence: number;
  position: Position;
  /** The store's clock, millisecond precision. */
  createdAt: Date;
}

export interface AppendResult {
  events: AppendedEvent[];
  /** The stream's revision after the append: pass it as the next expected revision. */
  nextExpectedRevision: number;
}

/** What the store adds to an event when it records it. */
export interface RecordedFields {
  id: string;
  stream: string;
  /** 1-based position of the event in its stream. */
  sequence: number;
  position: Position;
  /** The store's clock, millisecond precision. */
  createdAt: Date;
  metadata: JsonObject;
}

/**
 * An event as read back. `E` is the stream's event union; `type` narrows `data`. The store
 * returns untyped events (the default): a reader that knows which stream it reads types them
 * with `readStreamOf` / `asStreamEvents` from #kernel.
 */
export type RecordedEvent<E extends AnyEvent = AnyEvent> = E & RecordedFields;

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. */
  after?: Position;
  limit?: number;
}

export interface ReadStreamOptions {
  /**
   * Whether the reader needs the events' personal data (default true). False: a store that
   * seals it per person (withPersonalDataSealing) may hand the events out as stored, the personal
   * fields absent from `data` and still sealed, and so spare the person's key and the
   * decryption. For a reader whose decision never looks at a name or an address. A store
   * without sealing ignores it.
   */
  personalData?: boolean;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** One stream's part of a multi-stream append. */
export interface StreamAppend {
  stream: string;
  events: readonly NewEvent[];
  expectedRevision: ExpectedRevision;
}

export interface EventStore {
  append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /**
   * Optional: appends to several streams at once, all or nothing. Each part is checked against
   * its own expected revision; one mismatch throws WrongExpectedVersionError (for that stream)
   * and writes nothing at all. Results are in the order of `appends`. Each stream may appear
   * once. Adapters without multi-stream transactions (EventStoreDB) leave it out, and callers
   * then fall back to single-stream appends with their own reconciliation.
   */
  appendMany?(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  /** Events of one stream in sequence order; empty for a stream that does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Events of all streams in position order. Never returns an event while an event with a
   * smaller position may still become visible, so a reader that checkpoints the last
   * position it saw never skips one.
   */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Position of the newest committed event (START for an empty store). */
  headPosition(): Promise<Position>;
  /**
   * Resolves once an event after `after` may be readable, or when the time-out passes (so a
   * reader can re-check; never a busy loop).
   */
  waitForEvents(after: Position, options: WaitOptions): Promise<void>;
  /** Quick liveness check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EventStore');
