import type { ExpectedRevision } from './event-store.js';

/** Another writer changed the stream since the caller read it: reload and decide again. */
export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision when the append was refused (0 = no stream). */
    readonly actual: number,
  ) {
    super(`stream "${stream}": expected revision ${String(expected)}, actual ${actual}`);
  }
}

/** The append was malformed (no stream name, no type, non-JSON payload). Nothing was written. */
export class InvalidAppendError extends Error {
  override readonly name = 'InvalidAppendError';
}

/** The store cannot be reached or refused to open (another process owns embedded data). */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
}
