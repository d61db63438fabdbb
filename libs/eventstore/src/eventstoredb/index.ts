/**
 * The EventStoreDB adapter, a unit of its own: its client (gRPC, protobuf and the server's
 * protocol definitions) costs a process memory it needs only with EVENTSTORE=eventstoredb
 * (docs/benchmarks.md), so only such a process loads it (runtime's openEventStore imports it on
 * demand).
 */
export * from './eventstoredb-event-store.js';
