import type { EventStore, RecordedEvent } from '#eventstore';
import { readStreamOf } from '#kernel';
import { orgStream, OrgEventType, type OrgEvent } from './events.js';

export interface OrgState {
  exists: boolean;
  name?: string;
  version: number;
}

export function foldOrg(events: readonly RecordedEvent<OrgEvent>[]): OrgState {
  let state: OrgState = { exists: false, version: 0 };
  for (const event of events) {
    state =
      event.type === OrgEventType.OrgAdded
        ? { exists: true, name: event.data.name, version: event.sequence }
        : { ...state, version: event.sequence };
  }
  return state;
}

export async function orgExists(store: EventStore, orgId: string): Promise<boolean> {
  if (!orgId) return false;
  return foldOrg(await readStreamOf<OrgEvent>(store, orgStream(orgId))).exists;
}
