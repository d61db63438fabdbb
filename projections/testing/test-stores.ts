import { testBackends } from '#eventstore/testing';
import type { AppendedEvent, EventStore, JsonObject } from '#eventstore';
import { userStream, type UserEvent } from '#user';

export { capturingLogger } from '#logging/testing';
export type { Backend, TestStores } from '#eventstore/testing';

/** Events and read model in one database, as the server runs them. */
export const backends = testBackends('projections');

/** Appends user events one by one (each its own append, as commands do). */
export async function appendUserEvents(store: EventStore, userId: string, orgId: string, events: UserEvent[]): Promise<AppendedEvent[]> {
  // The fields of EventMetadata (libs/user/src/events.ts).
  const metadata: JsonObject = { instanceId: 'instance-1', resourceOwner: orgId, editor: 'system', correlationId: `test-${userId}` };
  const appended: AppendedEvent[] = [];
  for (const event of events) {
    const result = await store.append(userStream(userId), [{ type: event.type, data: event.data as unknown as JsonObject, metadata }], 'any');
    appended.push(...result.events);
  }
  return appended;
}
