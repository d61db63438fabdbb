import { InvalidAppendError, validateAppend, type JsonValue, type StreamAppend } from '#eventstore';

/**
 * Checks every part of a command's writes before the first of them is appended, so a command
 * that would fail on its second append fails before its first and writes nothing: the store's
 * own checks (validateAppend), and strings PostgreSQL cannot store in jsonb (NUL, a lone UTF-16
 * surrogate), which the database would otherwise refuse only at that append.
 */
export function assertAppendable(parts: readonly StreamAppend[]): void {
  for (const part of parts) {
    validateAppend(part.stream, part.events, part.expectedRevision);
    part.events.forEach((event, i) => {
      assertStorableStrings(event.data, `event ${i} (${event.type}) data`);
      if (event.metadata) assertStorableStrings(event.metadata, `event ${i} (${event.type}) metadata`);
    });
  }
}

// A NUL, or a surrogate half without its other half.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function assertStorableStrings(value: JsonValue | undefined, path: string): void {
  if (typeof value === 'string') {
    if (UNSTORABLE.test(value)) throw new InvalidAppendError(`${path} holds a NUL character or invalid UTF-16`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertStorableStrings(item, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) throw new InvalidAppendError(`${path} has a key with a NUL character or invalid UTF-16`);
      assertStorableStrings(item, `${path}.${key}`);
    }
  }
}
