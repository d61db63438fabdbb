import { SessionEventType, type SessionMetadataSet } from '../events.js';
import type { SessionState } from '../session-state.js';

/** A request's metadata: keys to raw values; an empty value removes the key. */
export type MetadataChanges = Readonly<Record<string, Uint8Array>>;

const base64 = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');

/**
 * ZITADEL's ChangeMetadata: a non-empty value sets the key (if it differs), an empty one
 * removes an existing key; the event carries the whole metadata after the change, and none is
 * written when nothing changed.
 */
export function decideMetadata(state: Pick<SessionState, 'metadata'>, changes: MetadataChanges): SessionMetadataSet | undefined {
  const next: Record<string, string> = { ...state.metadata };
  let changed = false;
  for (const [key, value] of Object.entries(changes)) {
    if (value.length > 0) {
      const encoded = base64(value);
      if (next[key] !== encoded) {
        next[key] = encoded;
        changed = true;
      }
    } else if (Object.hasOwn(next, key)) {
      delete next[key];
      changed = true;
    }
  }
  return changed ? { type: SessionEventType.MetadataSet, data: { metadata: next } } : undefined;
}
