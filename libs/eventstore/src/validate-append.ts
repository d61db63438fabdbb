import { InvalidAppendError } from './errors.js';
import type { ExpectedRevision, NewEvent } from './event-store.js';

const MAX_STREAM_LENGTH = 200;
const MAX_TYPE_LENGTH = 200;

/** Checks one append before any adapter touches storage, so bad input writes nothing. */
export function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.trim() === '') {
    throw new InvalidAppendError('stream name must be a non-empty string');
  }
  if (stream.length > MAX_STREAM_LENGTH) {
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
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
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
    for (const [key, item] of Object.entries(value)) assertJson(item, `${path}.${key}`, seen);
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
