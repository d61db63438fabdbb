import type { EventStore } from './event-store.js';

type AppendListener = (streams: readonly string[]) => void;

const listenersOf = Symbol('appendListeners');

/**
 * Calls `listener` with the streams of every append this process makes through `store`, once the
 * append has settled: after a success, and after a failure too (an append whose answer was lost
 * may still have been written, so a listener that drops what it knows of a stream must not miss
 * it). Listeners run synchronously and must not throw. Like withAppendMetrics it patches the
 * instance, so the store stays of its class; the patch is made once however many listen.
 * Returns a function that stops the listener.
 */
export function onAppended(store: EventStore, listener: AppendListener): () => void {
  const marked = store as EventStore & { [listenersOf]?: Set<AppendListener> };
  let listeners = marked[listenersOf];
  if (!listeners) {
    const all = new Set<AppendListener>();
    listeners = all;
    marked[listenersOf] = all;
    const tell = (streams: readonly string[]) => {
      for (const each of all) each(streams);
    };
    const append = store.append.bind(store);
    store.append = async (stream, events, expectedRevision) => {
      try {
        return await append(stream, events, expectedRevision);
      } finally {
        tell([stream]);
      }
    };
    const appendMany = store.appendMany?.bind(store);
    if (appendMany) {
      store.appendMany = async (appends) => {
        try {
          return await appendMany(appends);
        } finally {
          tell(appends.map((part) => part.stream));
        }
      };
    }
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}
