import { randomUUID } from 'node:crypto';
import {
  ANY,
  jsonEvent,
  NO_STREAM,
  START as ESDB_START,
  type AllStreamResolvedEvent,
  type EventData,
  type ExpectedRevision as EsdbExpectedRevision,
  type Position as EsdbPosition,
  type ReadPosition as EsdbReadPosition,
  type ResolvedEvent as EsdbResolvedEvent,
} from '@eventstore/db-client';
import { WrongExpectedVersionError } from '../errors.js';
import { START, type ExpectedRevision, type JsonObject, type NewEvent, type Position, type RecordedEvent } from '../event-store.js';

// Pure translations between the port and EventStoreDB. EventStoreDB counts stream revisions
// from 0 and positions as two unsigned 64-bit numbers; the port counts sequences from 1 and
// positions as strings that sort by plain comparison.

/** 2^64 - 1 has 20 digits: a fixed width makes string order equal numeric order. */
const WIDTH = 20;
const MAX_U64 = (1n << 64n) - 1n;
const POSITION_PATTERN = /^(\d{20})\/(\d{20})$/;

/** Link events ("$>") point at events of other streams: the port never shows them. */
const LINK_EVENT_TYPE = '$>';

/** Our expected revision (1-based, 0 = empty stream) as EventStoreDB's (0-based). */
export function toEsdbExpectedRevision(expected: ExpectedRevision): EsdbExpectedRevision {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream' || expected === 0) return NO_STREAM;
  return revisionFromSequence(expected);
}

/** EventStoreDB revision (0-based bigint) → our sequence (1-based). */
export function sequenceFromRevision(revision: bigint): number {
  if (revision < 0n) throw new RangeError(`not a stream revision: ${revision}`);
  const sequence = revision + 1n;
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`stream revision ${revision} does not fit a safe integer`);
  return Number(sequence);
}

/** Our sequence (1-based) → EventStoreDB revision (0-based bigint). */
export function revisionFromSequence(sequence: number): bigint {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`not a stream sequence: ${sequence}`);
  return BigInt(sequence - 1);
}

/**
 * The stream's revision in the port's terms (0 = no stream) from the `actualVersion` of the
 * client's WrongExpectedVersionError.
 */
export function actualRevisionFromEsdb(actual: bigint | typeof NO_STREAM): number {
  return actual === NO_STREAM ? 0 : sequenceFromRevision(actual);
}

/** The client's WrongExpectedVersionError (or its `actualVersion`) as ours. */
export function toWrongExpectedVersionError(
  stream: string,
  expected: ExpectedRevision,
  error: { actualVersion: bigint | typeof NO_STREAM | string },
): WrongExpectedVersionError {
  const actual = error.actualVersion;
  if (typeof actual !== 'bigint' && actual !== NO_STREAM) {
    // The client only reports a bigint or "no_stream"; anything else means the API changed.
    throw new RangeError(`unexpected actualVersion from EventStoreDB: ${String(actual)}`);
  }
  return new WrongExpectedVersionError(stream, expected, actualRevisionFromEsdb(actual));
}

/** EventStoreDB {commit, prepare} → our position: "cccc…/pppp…", 20 digits each. */
export function encodeEsdbPosition(position: EsdbPosition): Position {
  const { commit, prepare } = position;
  for (const part of [commit, prepare]) {
    if (typeof part !== 'bigint' || part < 0n || part > MAX_U64) {
      throw new RangeError(`not an EventStoreDB log position part: ${String(part)}`);
    }
  }
  return `${commit.toString().padStart(WIDTH, '0')}/${prepare.toString().padStart(WIDTH, '0')}`;
}

/** Our position → where EventStoreDB should read from: the client's START for our START. */
export function decodeEsdbPosition(position: Position): EsdbReadPosition {
  if (position === START) return ESDB_START;
  const match = typeof position === 'string' ? POSITION_PATTERN.exec(position) : null;
  if (!match) throw new RangeError(`not an EventStoreDB event store position: "${String(position)}"`);
  const commit = BigInt(match[1]!);
  const prepare = BigInt(match[2]!);
  if (commit > MAX_U64 || prepare > MAX_U64) throw new RangeError(`EventStoreDB position out of range: "${position}"`);
  return { commit, prepare };
}

/** Our new event as the client's JSON event data, with an id of its own. */
export function toEsdbEventData(event: NewEvent, id: string = randomUUID()): EventData {
  return jsonEvent({ id, type: event.type, data: event.data, metadata: event.metadata ?? {} }) as EventData;
}

/** What the client yields from readStream / readAll / subscribeToAll. */
export type EsdbResolvedEventLike = EsdbResolvedEvent | AllStreamResolvedEvent;

/**
 * The log position of a read result, whether or not the port shows it (system and link
 * events too), so a paging reader can move past it. Undefined when the server gave none.
 */
export function rawEsdbPosition(resolved: EsdbResolvedEventLike): EsdbPosition | undefined {
  return resolved.event?.position ?? resolved.link?.position;
}

/**
 * One read result as our RecordedEvent, or undefined for what the port does not show: link
 * events (resolved or not), events of system streams ("$…") or with system types ("$…"),
 * binary (non-JSON) events and JSON events whose data is not an object (written by other
 * tools; our appends always write objects).
 */
export function toRecordedEvent(resolved: EsdbResolvedEventLike): RecordedEvent | undefined {
  if (resolved.link !== undefined) return undefined;
  const event = resolved.event;
  if (event === undefined) return undefined;
  if (event.type === LINK_EVENT_TYPE || event.type.startsWith('$') || event.streamId.startsWith('$')) return undefined;
  if (!event.isJson || !isJsonObject(event.data)) return undefined;
  if (!hasLogPosition(event.position)) {
    throw new RangeError(
      `EventStoreDB returned event ${event.id} of "${event.streamId}" without a log position (stream reads carry one from server 22.6 on)`,
    );
  }
  return {
    id: event.id,
    stream: event.streamId,
    type: event.type,
    sequence: sequenceFromRevision(event.revision),
    position: encodeEsdbPosition(event.position),
    createdAt: event.created,
    data: event.data,
    metadata: isJsonObject(event.metadata) ? event.metadata : {},
  };
}

/**
 * Servers before 22.6 leave the position of stream reads unset, which arrives as 0/0, or as
 * 2^64 - 1 ("no position"). No event sits at 0/0: the log opens with a system record.
 */
function hasLogPosition(position: EsdbPosition | undefined): position is EsdbPosition {
  if (position === undefined) return false;
  if (position.commit === MAX_U64 || position.prepare === MAX_U64) return false;
  return !(position.commit === 0n && position.prepare === 0n);
}

function isJsonObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
