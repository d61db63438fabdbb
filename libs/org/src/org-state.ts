import type { EventStore, RecordedEvent } from '#eventstore';
import { orgStream, OrgEventType } from './events.js';

export interface OrgState {
  exists: boolean;
  name?: string;
  version: number;
}

export function foldOrg(events: readonly RecordedEvent[]): OrgState {
  let state: OrgState = { exists: false, version: 0 };
  for (const event of events) {
    state =
      event.type === OrgEventType.OrgAdded
        ? { exists: true, name: String(event.data.name), version: event.sequence }
        : { ...state, version: event.sequence };
  }
  return state;
}

export async function orgExists(store: EventStore, orgId: string): Promise<boolean> {
  if (!orgId) return false;
  return foldOrg(await store.readStream(orgStream(orgId))).exists;
}
