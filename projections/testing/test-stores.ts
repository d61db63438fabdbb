import { testBackends } from '../../libs/eventstore/src/testing/test-backends.js';
import type { AppendedEvent, EventStore, JsonObject } from '../../libs/eventstore/src/index.js';
import { userStream, type UserEvent } from '../../libs/user/src/events.js';

export { capturingLogger } from '../../libs/logging/src/testing/capturing-logger.js';
export type { Backend, TestStores } from '../../libs/eventstore/src/testing/test-backends.js';

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
