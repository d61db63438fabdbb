import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  WaitOptions,
} from '#eventstore';

/**
 * A real event store with one test hook: `failNextAppend(predicate)` makes the next append to a
 * matching stream throw once (a crash between two appends), before anything is written.
 *
 * By default it has no `appendMany`, whatever the inner store has: the callers then take their
 * path for stores without multi-stream appends (EventStoreDB). With `multiStream` (which a test
 * may switch) it passes `appendMany` through, and a multi-stream append with a matching part
 * fails as a whole.
 */
export class FailingAppendStore implements EventStore {
  private failing?: { matches: (stream: string) => boolean; error: Error };
  /** Whether `appendMany` is offered (when the inner store has it). */
  multiStream: boolean;

  constructor(
    private readonly inner: EventStore,
    options: { multiStream?: boolean } = {},
  ) {
    this.multiStream = options.multiStream ?? false;
  }

  failNextAppend(matches: (stream: string) => boolean, error = new Error('simulated crash before the append')): void {
    this.failing = { matches, error };
  }

  private takeFailure(streams: readonly string[]): Error | undefined {
    if (!this.failing || !streams.some((stream) => this.failing!.matches(stream))) return undefined;
    const { error } = this.failing;
    this.failing = undefined;
    return error;
  }

  append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const failure = this.takeFailure([stream]);
    if (failure) return Promise.reject(failure);
    return this.inner.append(stream, events, expectedRevision);
  }

  get appendMany(): ((appends: readonly StreamAppend[]) => Promise<AppendResult[]>) | undefined {
    const inner = this.inner;
    if (!this.multiStream || !inner.appendMany) return undefined;
    return (appends) => {
      const failure = this.takeFailure(appends.map((part) => part.stream));
      if (failure) return Promise.reject(failure);
      return inner.appendMany!(appends);
    };
  }
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(stream, options);
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
