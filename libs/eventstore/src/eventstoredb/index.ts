/**
 * The EventStoreDB adapter, a unit of its own: its client (gRPC, protobuf and the server's
 * protocol definitions) costs ~27 MB of a process's memory, so only a process configured with
 * EVENTSTORE=eventstoredb loads it (runtime's openEventStore imports it on demand).
 */
export * from './eventstoredb-event-store.js';
