import { InvalidAppendError } from './errors.js';
import type { ExpectedRevision, NewEvent } from './event-store.js';

/**
 * In characters (code points). Ids are up to 200 characters (ZITADEL's custom ids), and a
 * stream name is a prefix such as `user-` or `session-` and an id, so this leaves room for
 * prefixes of up to 56 characters. The column is unbounded text: no schema limit to follow.
 */
export const MAX_STREAM_LENGTH = 256;
const MAX_TYPE_LENGTH = 200;

/**
 * What PostgreSQL cannot hold in text or jsonb: U+0000, and lone UTF-16 surrogates, which have
 * no UTF-8 form (the driver would silently write U+FFFD, so two names could become one).
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a stream name could never have been written, so reading it finds nothing. */
export function isUnstorableText(s: string): boolean {
  return UNSTORABLE.test(s);
}

/** Checks one append before any adapter touches storage, so bad input writes nothing. */
export function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.trim() === '') {
    throw new InvalidAppendError('stream name must be a non-empty string');
  }
  if (isUnstorableText(stream)) {
    throw new InvalidAppendError('stream name must be valid Unicode text without NUL');
  }
  if ([...stream].length > MAX_STREAM_LENGTH) {
    throw new InvalidAppendError(`stream name must be at most ${MAX_STREAM_LENGTH} characters`);
  }
  if (stream.startsWith('$')) {
    throw new InvalidAppendError('stream names starting with "$" are reserved');
  }
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new InvalidAppendError(`expected revision must be a non-negative integer, "no_stream" or "any", got ${expected}`);
    }
  } else if (expected !== 'no_stream' && expected !== 'any') {
    throw new InvalidAppendError(`expected revision must be a non-negative integer, "no_stream" or "any", got ${String(expected)}`);
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError('an append needs at least one event');
  }
  events.forEach((event, i) => {
    if (typeof event?.type !== 'string' || event.type.trim() === '') {
      throw new InvalidAppendError(`event ${i}: type must be a non-empty string`);
    }
    if (isUnstorableText(event.type)) {
      throw new InvalidAppendError(`event ${i}: type must be valid Unicode text without NUL`);
    }
    if (event.type.length > MAX_TYPE_LENGTH) {
      throw new InvalidAppendError(`event ${i}: type must be at most ${MAX_TYPE_LENGTH} characters`);
    }
    assertJsonObject(event.data, `event ${i} (${event.type}) data`);
    if (event.metadata !== undefined) assertJsonObject(event.metadata, `event ${i} (${event.type}) metadata`);
  });
}

function assertJsonObject(value: unknown, where: string): void {
  if (!isPlainObject(value)) throw new InvalidAppendError(`${where} must be a JSON object`);
  assertJson(value, where, new Set());
}

/**
 * JSON.stringify silently drops functions and undefined and turns NaN into null; a payload
 * that would not survive the round trip unchanged is refused instead.
 */
function assertJson(value: unknown, path: string, seen: Set<object>): void {
  if (typeof value === 'string') {
    if (isUnstorableText(value)) throw new InvalidAppendError(`${path} is not storable text (NUL or a lone surrogate)`);
    return;
  }
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidAppendError(`${path} is not JSON-serializable (${value})`);
    return;
  }
  if (typeof value !== 'object') {
    throw new InvalidAppendError(`${path} is not JSON-serializable (${typeof value})`);
  }
  if (seen.has(value)) throw new InvalidAppendError(`${path} is not JSON-serializable (circular reference)`);
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJson(item, `${path}[${i}]`, seen));
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (isUnstorableText(key)) throw new InvalidAppendError(`${path} has a key that is not storable text (NUL or a lone surrogate)`);
      assertJson(item, `${path}.${key}`, seen);
    }
  } else {
    throw new InvalidAppendError(`${path} is not JSON-serializable (${value.constructor?.name ?? 'object'})`);
  }
  seen.delete(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
