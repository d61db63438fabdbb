import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  RecordedEvent,
  WaitOptions,
} from '#eventstore';

/**
 * A real event store with one test hook: `failNextAppend(predicate)` makes the next append to a
 * matching stream throw once (a crash between two appends), before anything is written.
 */
export class FailingAppendStore implements EventStore {
  private failing?: { matches: (stream: string) => boolean; error: Error };
  constructor(private readonly inner: EventStore) {}

  failNextAppend(matches: (stream: string) => boolean, error = new Error('simulated crash before the append')): void {
    this.failing = { matches, error };
  }
  append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (this.failing?.matches(stream)) {
      const { error } = this.failing;
      this.failing = undefined;
      return Promise.reject(error);
    }
    return this.inner.append(stream, events, expectedRevision);
  }
  readStream(stream: string): Promise<RecordedEvent[]> {
    return this.inner.readStream(stream);
  }
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }
  headPosition(): Promise<Position> {
    return this.inner.headPosition();
  }
  waitForEvents(after: Position, options: WaitOptions): Promise<void> {
    return this.inner.waitForEvents(after, options);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
