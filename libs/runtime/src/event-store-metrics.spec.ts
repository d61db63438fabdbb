import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openInMemoryDatabase, type SqlDatabase } from '#database';
import { PostgresEventStore, WrongExpectedVersionError } from '#eventstore';
import { metricsRegistry } from '#metrics';
import { loadConfig } from '#config';
import { migrateAll, openEventStore, sqlSchemas } from './stores.js';

const value = async (name: string, labels: Record<string, string> = {}) => {
  const metric = await metricsRegistry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && (name.endsWith('_count') || !('le' in v.labels)));
  return match?.value ?? 0;
};

describe('event store append metrics (openEventStore)', () => {
  let database: SqlDatabase;
  beforeAll(async () => {
    database = await openInMemoryDatabase();
    await migrateAll(database, sqlSchemas({ EVENTSTORE: 'postgres' }));
  });
  afterAll(() => database?.close());

  it('counts appends, events and conflicts, times them, and leaves the store its own class', async () => {
    const store = await openEventStore(loadConfig({ DATA_DIR: '/nonexistent-metrics-spec' }), database);
    expect(store).toBeInstanceOf(PostgresEventStore);
    const event = { type: 'thing.added', data: {}, metadata: { correlationId: 'c' } };

    await store.append('thing-1', [event, event], 'no_stream');
    await expect(store.append('thing-1', [event], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedVersionError);

    expect(await value('eventstore_appends_total', { outcome: 'ok' })).toBe(1);
    expect(await value('eventstore_appends_total', { outcome: 'conflict' })).toBe(1);
    expect(await value('eventstore_appended_events_total')).toBe(2);
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(/^eventstore_append_duration_seconds_count\{outcome="ok"\} 1$/m);
    expect(text).toMatch(/^eventstore_append_duration_seconds_count\{outcome="conflict"\} 1$/m);
  });
});
