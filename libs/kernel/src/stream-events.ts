import type { AnyEvent, EventStore, RecordedEvent } from '#eventstore';

/**
 * The one place where stored events get their stream's type. The store keeps type names and
 * JSON payloads and returns them untyped; each stream is written only through its domain's
 * decide functions, which produce `NewEvent<E>` for that stream's event union `E`, so what
 * comes back from the stream is an `E`. Folds still keep a default branch: an event type
 * written by a newer version passes through without changing the state.
 */
export function asStreamEvents<E extends AnyEvent>(events: readonly RecordedEvent[]): RecordedEvent<E>[] {
  return events as RecordedEvent[] as RecordedEvent<E>[];
}

/** `store.readStream(stream)`, typed with the stream's event union: `readStreamOf<UserEvent>(store, userStream(id))`. */
export async function readStreamOf<E extends AnyEvent>(store: EventStore, stream: string): Promise<RecordedEvent<E>[]> {
  return asStreamEvents<E>(await store.readStream(stream));
}
