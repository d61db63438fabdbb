import { expect } from '@jest/globals';
import { eventually } from '#test-kit';
import type { EventStore, RecordedEvent } from '#eventstore';

/**
 * Everything readAll shows, once it shows the head. readAll never passes a transaction still
 * open, and on server PostgreSQL that is any of the cluster's (another suite's too), so a read
 * right after an append may stop short of it.
 */
export function readAllToHead(store: EventStore): Promise<RecordedEvent[]> {
  return eventually(async () => {
    const events = await store.readAll();
    expect(events.at(-1)?.position).toBe(await store.headPosition());
    return events;
  });
}
